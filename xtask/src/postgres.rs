//! A throwaway PostgreSQL server in a temporary directory, for tests and benchmarks. It is
//! stopped and its directory removed when the [`TempPostgres`] is dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// The newest PostgreSQL `bin` directory installed, or one on `PATH`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

pub struct TempPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl TempPostgres {
    /// Initialises and starts a server on a free loopback port.
    pub fn start() -> anyhow::Result<TempPostgres> {
        let bin = bin_dir().context("PostgreSQL is not installed; run `cargo xtask setup`")?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("shiplog-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // initdb refuses to run as root; hand the directory to the postgres user instead.
        let as_postgres_user = is_root();
        let server = TempPostgres {
            bin,
            dir,
            port,
            as_postgres_user,
        };
        if as_postgres_user {
            quiet(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&server.dir),
            )?;
        }
        let data = server.dir.join("data");
        quiet(
            server
                .pg("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8"]),
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            server.dir.display()
        );
        quiet(
            server
                .pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(server.dir.join("log"))
                .args(["-w", "start"]),
        )
        .with_context(|| {
            format!(
                "starting PostgreSQL; see {}",
                server.dir.join("log").display()
            )
        })?;
        eprintln!(
            "postgres: started on port {port} in {}",
            server.dir.display()
        );
        Ok(server)
    }

    /// URL of the server's default database, as superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = quiet(
            self.pg("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w", "stop"]),
        );
        let _ = std::fs::remove_dir_all(&self.dir);
        eprintln!("postgres: stopped");
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a command, showing its output only if it fails.
fn quiet(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{:?} failed ({}):\n{}{}",
            Path::new(command.get_program()),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
