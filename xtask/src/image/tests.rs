//! Tests of `cargo xtask image`: the ELF reader on made-up files, the Dockerfile's contract, and
//! the static server started in an empty root.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::sync::{Arc, Mutex, mpsc};

use super::*;

/// A minimal x86-64 ELF file of type `kind`: the header, one program header per segment,
/// then the segments' contents.
fn elf(kind: u16, segments: &[(u32, Vec<u8>)]) -> Vec<u8> {
    elf_for(EM_X86_64, kind, segments)
}

/// [`elf`] for machine `machine`.
fn elf_for(machine: u16, kind: u16, segments: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut file = vec![0u8; 64];
    file[..6].copy_from_slice(b"\x7fELF\x02\x01");
    file[16..18].copy_from_slice(&kind.to_le_bytes());
    file[18..20].copy_from_slice(&machine.to_le_bytes());
    file[32..40].copy_from_slice(&64u64.to_le_bytes());
    file[54..56].copy_from_slice(&56u16.to_le_bytes());
    file[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    let mut offset = 64 + 56 * segments.len();
    let mut contents: Vec<u8> = Vec::new();
    for (segment, bytes) in segments {
        let mut header = [0u8; 56];
        header[..4].copy_from_slice(&segment.to_le_bytes());
        header[8..16].copy_from_slice(&(offset as u64).to_le_bytes());
        header[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        file.extend(header);
        offset += bytes.len();
        contents.extend(bytes);
    }
    file.extend(contents);
    file
}

/// A dynamic section of `(tag, value)` entries, ended by `DT_NULL`.
fn dynamic(entries: &[(u64, u64)]) -> Vec<u8> {
    entries
        .iter()
        .chain([&(DT_NULL, 0)])
        .flat_map(|(tag, value)| [tag.to_le_bytes(), value.to_le_bytes()].concat())
        .collect()
}

const ET_EXEC: u16 = 2;
const PT_LOAD: u32 = 1;
/// `DT_FLAGS_1`, as a static PIE has it.
const DT_FLAGS_1: u64 = 0x6fff_fffb;

#[test]
fn an_executable_without_interpreter_or_dynamic_section_is_static() {
    let linkage = linkage(&elf(ET_EXEC, &[(PT_LOAD, vec![0; 8])])).unwrap();
    assert_eq!(
        linkage,
        Linkage {
            machine: EM_X86_64,
            interpreter: None,
            dynamic: false,
            needed: 0,
            pie: false
        }
    );
}

#[test]
fn a_static_pie_relocates_itself_and_names_no_library() {
    let file = elf(
        ET_DYN,
        &[
            (PT_LOAD, vec![0; 8]),
            (PT_DYNAMIC, dynamic(&[(DT_FLAGS_1, 0x0800_0000)])),
        ],
    );
    let linkage = linkage(&file).unwrap();
    assert!(linkage.interpreter.is_none() && linkage.needed == 0);
    assert!(linkage.dynamic && linkage.pie);
    assert!(linkage.to_string().starts_with("static PIE"), "{linkage}");
}

#[test]
fn an_interpreter_and_needed_libraries_are_found() {
    let file = elf(
        ET_DYN,
        &[
            (PT_INTERP, b"/lib64/ld-linux-x86-64.so.2\0".to_vec()),
            (PT_DYNAMIC, dynamic(&[(DT_NEEDED, 1), (DT_NEEDED, 9)])),
        ],
    );
    let linkage = linkage(&file).unwrap();
    assert_eq!(
        linkage.interpreter.as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );
    assert_eq!(linkage.needed, 2);
}

#[test]
fn what_is_not_a_whole_64_bit_little_endian_elf_file_is_refused() {
    assert!(linkage(b"#!/bin/sh\n").is_err());
    let file = elf(ET_EXEC, &[(PT_INTERP, b"/lib/ld.so\0".to_vec())]);
    assert!(linkage(&file[..100]).is_err(), "cut in the program headers");
    assert!(
        linkage(&file[..file.len() - 4]).is_err(),
        "cut in a segment"
    );
    let mut big_endian = file.clone();
    big_endian[5] = 2;
    assert!(linkage(&big_endian).is_err());
    let mut elf32 = file;
    elf32[4] = 1;
    assert!(linkage(&elf32).is_err());
}

#[test]
fn the_machine_is_read_for_each_platform() {
    for platform in PLATFORMS {
        let file = elf_for(platform.machine, ET_DYN, &[(PT_LOAD, vec![0; 8])]);
        assert_eq!(linkage(&file).unwrap().machine, platform.machine);
        assert_eq!(Platform::of_machine(platform.machine), Some(platform));
    }
    assert_eq!(EM_X86_64, 62);
    assert_eq!(EM_AARCH64, 183);
}

#[test]
fn the_platform_is_this_machines() {
    let host = Platform::host().unwrap();
    assert_eq!(host.arch, std::env::consts::ARCH);
    assert!(
        host.target
            .starts_with(&format!("{}-unknown-linux-musl", host.arch))
    );
    assert_eq!(
        Platform::host().unwrap().cc_variable(),
        format!("CC_{}_unknown_linux_musl", host.arch)
    );
    let docker: Vec<_> = PLATFORMS.iter().map(|p| p.docker_arch).collect();
    assert_eq!(docker, ["amd64", "arm64"]);
}

#[test]
fn a_binary_for_another_machine_fails_the_check() {
    let host = Platform::host().unwrap();
    let other = PLATFORMS.into_iter().find(|p| *p != host).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("shiplog-server");
    std::fs::write(
        &binary,
        elf_for(other.machine, ET_DYN, &[(PT_LOAD, vec![0; 8])]),
    )
    .unwrap();
    let error = format!("{:#}", check(&binary, host).unwrap_err());
    assert!(
        error.contains(&format!("is built for {}, not {}", other.arch, host.arch)),
        "{error}"
    );
    assert!(check(&binary, other).is_err_and(|e| !format!("{e:#}").contains("built for")));
}

#[test]
fn a_dynamically_linked_binary_fails_the_check() {
    // This test binary is linked against the host's C library.
    let error = check(&std::env::current_exe().unwrap(), Platform::host().unwrap()).unwrap_err();
    assert!(
        format!("{error:#}").contains("asks for the loader"),
        "{error:#}"
    );
}

#[test]
fn the_dockerfile_builds_what_the_image_runs() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let lines: Vec<&str> = dockerfile.lines().map(str::trim).collect();
    for line in [
        "FROM scratch AS prebuilt",
        "FROM ${BINARY} AS binary",
        "COPY --from=binary /image/shiplog-server /shiplog-server",
        "USER 65532:65532",
        "VOLUME [\"/data\"]",
        "EXPOSE 8080",
        "ENTRYPOINT [\"/shiplog-server\"]",
        "ENV SHIPLOG_DATABASE=sqlite:///data/shiplog.db \\",
        "SHIPLOG_LISTEN=0.0.0.0:8080",
    ] {
        assert!(lines.contains(&line), "the Dockerfile has no `{line}`");
    }
    let stages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert_eq!(
        lines[*stages.last().unwrap()],
        "FROM scratch",
        "the image is the last stage"
    );
    // FROM reads only the arguments declared before the first stage; the default is the
    // stage that compiles the server.
    assert!(
        lines[..stages[0]].contains(&"ARG BINARY=builder"),
        "ARG BINARY=builder before the first FROM"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("FROM ") && line.ends_with(" AS builder"))
    );

    // The builder compiles for the platform being built, each with musl-gcc.
    for platform in PLATFORMS {
        let case = format!("{}) target={} ;;", platform.docker_arch, platform.target);
        assert!(
            lines.iter().any(|line| line.starts_with(&case)),
            "the builder has no `{case}`"
        );
        assert!(
            dockerfile.contains(&format!("{}=musl-gcc", platform.cc_variable())),
            "the builder sets no C compiler for {}",
            platform.target
        );
    }
    assert!(dockerfile.contains("--package shiplog-server --target \"$target\""));
    // The prebuilt binary is the platform's one from the release directory.
    let prebuilt = stages
        .iter()
        .position(|&i| lines[i] == "FROM scratch AS prebuilt")
        .unwrap();
    let prebuilt = &lines[stages[prebuilt]..stages[prebuilt + 1]];
    assert!(prebuilt.contains(&"ARG TARGETARCH"));
    assert!(prebuilt.contains(
        &"COPY --chmod=0755 release/linux/${TARGETARCH}/shiplog-server /image/shiplog-server"
    ));
    let dockerignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for pattern in dockerignore
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
    {
        let path = pattern.trim_start_matches("**/").trim_start_matches('/');
        assert!(
            !(path == "*" || path == "**" || path.starts_with("release")),
            ".dockerignore leaves release/ out of the build context: `{pattern}`"
        );
    }

    assert!(dockerfile.contains(&format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"))));
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let owner = manifest
        .lines()
        .find_map(|line| line.strip_prefix("repository = \"https://github.com/"))
        .and_then(|rest| rest.split('/').next())
        .expect("the workspace names its GitHub repository");
    assert!(
        DEFAULT_TAG.starts_with(&format!("ghcr.io/{owner}/shiplog-server:")),
        "{DEFAULT_TAG}"
    );
}

/// The release workflow builds the binary of every platform on a runner of its own
/// architecture, lays each out where the Dockerfile's `prebuilt` stage takes it, builds the
/// image for all of them, and compiles with the Dockerfile's Rust.
#[test]
fn the_release_builds_every_platform_with_the_dockerfiles_rust() {
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let lines: Vec<&str> = release.lines().map(str::trim).collect();
    for platform in PLATFORMS {
        let arch = format!("arch: {}", platform.docker_arch);
        let at = lines
            .iter()
            .position(|line| line.ends_with(&arch))
            .unwrap_or_else(|| panic!("release.yml builds no `{arch}`"));
        assert_eq!(
            lines[at + 1],
            format!("target: {}", platform.target),
            "release.yml's {arch} is not built for {}",
            platform.target
        );
    }
    let docker_arches: Vec<&str> = PLATFORMS.iter().map(|p| p.docker_arch).collect();
    let layout = format!("for arch in {}; do", docker_arches.join(" "));
    assert!(
        lines.contains(&layout.as_str()),
        "release.yml has no `{layout}`"
    );
    assert!(release.contains(
        r#"install -D -m 0755 "artifacts/$file/$file" "release/linux/$arch/shiplog-server""#
    ));
    let platforms: Vec<String> = docker_arches.iter().map(|a| format!("linux/{a}")).collect();
    let platforms = format!("platforms: {}", platforms.join(","));
    assert!(
        lines.contains(&platforms.as_str()),
        "release.yml has no `{platforms}`"
    );
    assert!(lines.contains(&"BINARY=prebuilt"));

    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let rust = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ARG RUST_VERSION="))
        .expect("the Dockerfile names its Rust");
    let toolchain = lines
        .iter()
        .find_map(|line| line.strip_prefix("RUSTUP_TOOLCHAIN: "))
        .expect("release.yml pins its Rust")
        .trim_matches('"');
    assert!(
        toolchain.starts_with(&format!("{rust}.")),
        "release.yml builds with Rust {toolchain}, the Dockerfile with {rust}"
    );
}

/// Writes straight to the standard error, which the test harness does not capture: a
/// skipped check must be seen.
fn tell(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The static server runs inside a root holding only itself, `/data` and `/tmp` (as in the
/// image), as user 65532, and serves `/healthz` and the embedded console. Uses
/// `$SHIPLOG_STATIC_SERVER` (set by `cargo xtask test`), else builds the binary as `cargo
/// xtask image` does, which is quick once that has run. Skipped, saying so, only where the
/// machine does not permit `unshare` and `chroot`.
#[test]
fn the_static_server_serves_the_console_from_an_empty_root() {
    let binary = match std::env::var_os(STATIC_SERVER_ENV) {
        Some(path) => PathBuf::from(path),
        None => {
            tell(&format!(
                "image test: {STATIC_SERVER_ENV} is not set; building the static server as \
                 `cargo xtask image` does (quick when it is up to date)"
            ));
            build_binary().expect("building the static server")
        }
    };
    check(&binary, Platform::host().unwrap())
        .expect("the static server is static and embeds the console");
    let root = EmptyRoot::new(&binary);

    let probe = root
        .command(&["--version"])
        .output()
        .expect("running unshare");
    if !probe.status.success() {
        let said = String::from_utf8_lossy(&probe.stderr);
        let from_the_tools = said.starts_with("unshare:") || said.starts_with("chroot:");
        if from_the_tools && said.contains("Operation not permitted") {
            tell(&format!(
                "image test SKIPPED the empty-root run: this machine does not permit \
                 unshare and chroot (it needs root): {}",
                said.trim()
            ));
            return;
        }
        panic!("running the server in an empty root failed: {said}");
    }
    let version = String::from_utf8_lossy(&probe.stdout);
    assert!(version.starts_with("shiplog-server "), "{version}");

    std::os::unix::fs::chown(root.dir.join("data"), Some(65532), Some(65532)).unwrap();
    let server = Server::start(root.command(&[
        "--listen",
        "127.0.0.1:0",
        "--database",
        "sqlite:///data/shiplog.db",
    ]));
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let get = |path: &str| match agent.get(&format!("{}{path}", server.url)).call() {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("GET {path}: {e}\n{}", server.log()),
    };

    let health = get("/healthz");
    assert_eq!(health.status(), 200, "{}", server.log());

    let index = get("/");
    assert_eq!(index.status(), 200, "{}", server.log());
    assert_eq!(index.content_type(), "text/html");
    let page = index.into_string().unwrap();
    let wasm = page
        .split(['\'', '"'])
        .find(|part| part.starts_with("/shiplog-console-") && part.ends_with("_bg.wasm"))
        .unwrap_or_else(|| panic!("the console's page names no wasm module: {page}"));
    let module = get(wasm);
    assert_eq!(module.status(), 200);
    assert_eq!(module.content_type(), "application/wasm");
    let mut served = Vec::new();
    module.into_reader().read_to_end(&mut served).unwrap();
    let built = std::fs::read(console::dist().join(wasm.trim_start_matches('/'))).unwrap();
    assert!(
        served == built,
        "the served module differs from console/dist's"
    );

    let database = std::fs::metadata(root.dir.join("data/shiplog.db")).unwrap();
    assert_eq!(database.uid(), 65532, "the database is the server user's");
}

/// A directory with the static server, an empty `/data` and a `/tmp`, removed when dropped.
struct EmptyRoot {
    dir: PathBuf,
}

impl EmptyRoot {
    fn new(binary: &Path) -> EmptyRoot {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("shiplog-empty-root-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::create_dir(dir.join("tmp")).unwrap();
        let mode = |path: &Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        mode(&dir, 0o755);
        mode(&dir.join("tmp"), 0o1777);
        std::fs::copy(binary, dir.join("shiplog-server")).unwrap();
        mode(&dir.join("shiplog-server"), 0o755);
        EmptyRoot { dir }
    }

    /// The server with `args`, as user 65532:65532 with this directory as its root, in its
    /// own mount and PID namespaces (killed with `unshare`), with no environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--pid", "--fork", "--kill-child"])
            .args(["chroot", "--userspec=65532:65532"])
            .arg(&self.dir)
            .arg("/shiplog-server")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1");
        command
    }
}

impl Drop for EmptyRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server running, killed when dropped.
struct Server {
    child: std::process::Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `command` and waits for the line that says where it listens.
    fn start(mut command: Command) -> Server {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the server");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let collected = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut server = Server {
            child,
            url: String::new(),
            log,
        };
        let first = lines.recv_timeout(Duration::from_secs(30));
        match first
            .as_deref()
            .ok()
            .and_then(|line| line.strip_prefix("shiplog-server listening on "))
        {
            Some(url) => server.url = url.to_owned(),
            None => panic!(
                "the server did not say where it listens ({first:?}):\n{}",
                server.log()
            ),
        }
        server
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
