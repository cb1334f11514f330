//! The hub that hands every committed write to the event-stream clients.
//!
//! Each client has a queue of its own, bounded by its buffer ([`crate::limits::Limits::stream_buffer`]).
//! A write is serialised once ([`Frame`]) and shared by every queue, so however many clients
//! listen, the events held in memory are at most the last `buffer` ones. A client whose queue is
//! full when the next event comes is removed: its stream ends with a `resync`
//! ([`Next::Resync`]) and its connection is closed after a grace period, even if it stopped
//! reading altogether. Other clients are not held up. [`EventHub::close`] ends every stream (at
//! shutdown).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use shiplog_model::{Deploy, DeployEvent, DeployEventKind, DeployId};
use tokio::sync::{mpsc, oneshot};

use crate::transport::ConnectionHandle;

/// One event, serialised once for every client.
#[derive(Debug)]
pub struct Frame {
    pub kind: DeployEventKind,
    pub deploy: DeployId,
    /// The [`DeployEvent`] as JSON.
    pub json: String,
}

impl Frame {
    /// The event as the wire type.
    pub fn event(&self) -> DeployEvent {
        serde_json::from_str(&self.json).expect("a frame holds a DeployEvent")
    }
}

/// What a subscription yields next.
#[derive(Debug)]
pub enum Next {
    Event(Arc<Frame>),
    /// The client fell further behind than its buffer: it must fetch what it shows again.
    Resync,
    /// The server is shutting down.
    Closed,
}

/// The stream of events of one client.
pub struct Subscription {
    events: mpsc::Receiver<Arc<Frame>>,
    lagged: oneshot::Receiver<()>,
    resynced: bool,
}

impl Subscription {
    /// The next event; after [`Next::Resync`] or [`Next::Closed`], always [`Next::Closed`].
    pub async fn next(&mut self) -> Next {
        if self.resynced {
            return Next::Closed;
        }
        tokio::select! {
            biased;
            lagged = &mut self.lagged => {
                self.resynced = true;
                match lagged {
                    Ok(()) => Next::Resync,
                    Err(_) => Next::Closed,
                }
            }
            event = self.events.recv() => event.map_or(Next::Closed, Next::Event),
        }
    }
}

struct Client {
    events: mpsc::Sender<Arc<Frame>>,
    lagged: oneshot::Sender<()>,
    /// The client's connection, closed after `grace` once the client is removed for lagging.
    connection: Option<(ConnectionHandle, Duration)>,
}

#[derive(Default)]
struct Clients {
    list: Vec<Client>,
    closed: bool,
}

/// Every connected stream client.
#[derive(Default)]
pub struct EventHub {
    clients: Mutex<Clients>,
}

impl EventHub {
    /// A new client that may fall `buffer` events behind. When it falls further, its stream
    /// ends with a resync and `connection` (if any) is closed after `grace`.
    pub fn subscribe(
        &self,
        buffer: usize,
        connection: Option<(ConnectionHandle, Duration)>,
    ) -> Subscription {
        let (events_tx, events) = mpsc::channel(buffer.max(1));
        let (lagged_tx, lagged) = oneshot::channel();
        let mut clients = self.lock();
        if !clients.closed {
            clients.list.push(Client {
                events: events_tx,
                lagged: lagged_tx,
                connection,
            });
        }
        Subscription {
            events,
            lagged,
            resynced: false,
        }
    }

    /// Clients whose stream is open.
    pub fn client_count(&self) -> usize {
        let clients = self.lock();
        clients
            .list
            .iter()
            .filter(|c| !c.events.is_closed())
            .count()
    }

    /// Hands `deploy` to every client; removes the clients that have gone or fallen behind.
    pub fn publish(&self, kind: DeployEventKind, deploy: &Deploy) {
        let mut clients = self.lock();
        if clients.list.is_empty() {
            return;
        }
        #[derive(Serialize)]
        struct EventRef<'a> {
            kind: DeployEventKind,
            deploy: &'a Deploy,
        }
        let frame = Arc::new(Frame {
            kind,
            deploy: deploy.id,
            json: serde_json::to_string(&EventRef { kind, deploy })
                .expect("a deploy always serializes"),
        });
        let mut i = 0;
        while i < clients.list.len() {
            match clients.list[i].events.try_send(frame.clone()) {
                Ok(()) => i += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    clients.list.swap_remove(i);
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let client = clients.list.swap_remove(i);
                    let _ = client.lagged.send(());
                    if let Some((connection, grace)) = client.connection {
                        connection.close_after(grace);
                    }
                }
            }
        }
    }

    /// Ends every stream and refuses new clients (their streams end at once).
    pub fn close(&self) {
        let mut clients = self.lock();
        clients.closed = true;
        clients.list.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Clients> {
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(id: i64) -> Deploy {
        let new: shiplog_model::NewDeploy = serde_json::from_value(serde_json::json!({
            "repo": "acme/shop", "app": "api", "namespace": "prod",
            "commit": {"sha": "abc"}, "actor": "alice", "run": {"id": id}
        }))
        .unwrap();
        new.into_deploy(DeployId(id), chrono::DateTime::UNIX_EPOCH)
    }

    #[tokio::test]
    async fn a_client_behind_by_more_than_its_buffer_is_resynced_and_others_are_not() {
        let hub = EventHub::default();
        let mut slow = hub.subscribe(2, None);
        let mut fast = hub.subscribe(2, None);
        for id in 1..=3 {
            hub.publish(DeployEventKind::Created, &deploy(id));
            match fast.next().await {
                Next::Event(frame) => {
                    assert_eq!(frame.deploy, DeployId(id));
                    assert_eq!(frame.event().deploy, deploy(id));
                }
                other => panic!("expected event {id}, got {other:?}"),
            }
        }
        assert!(matches!(slow.next().await, Next::Resync));
        assert!(matches!(slow.next().await, Next::Closed));
        assert_eq!(hub.client_count(), 1);
        hub.close();
        assert!(matches!(fast.next().await, Next::Closed));
        assert!(matches!(hub.subscribe(2, None).next().await, Next::Closed));
    }
}
