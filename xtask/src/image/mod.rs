//! `cargo xtask image`: shiplog-server for production, as a container image.
//!
//! Builds the console (as `cargo xtask console` does), then a fully static `shiplog-server` for
//! this machine's architecture (linux amd64 or arm64, see [`PLATFORMS`]) with the console
//! embedded: the musl target, with musl-gcc for the C in the server's dependencies (ring,
//! SQLite), both installed here when missing. The binary is checked (an ELF file for this
//! machine, no interpreter, no shared library, the current console inside), then the root
//! `Dockerfile` builds the image for this machine's platform when docker or podman answers;
//! without one, the checked binary is the result.
//!
//! The binary is a static PIE, as rustc makes it for musl: it keeps a dynamic section, but only
//! to relocate itself to a random address (ASLR); it names no interpreter and no library.
//!
//! Not for: cross-compiling (the release workflow builds each architecture on a runner of that
//! architecture, then gives both binaries to the Dockerfile's `prebuilt` stage), pushing or
//! signing images (the release workflow's job).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::workspace::{cargo, exec, on_path, root};
use crate::{console, setup};

/// A platform the static server is built for, natively: the one [`Platform::host`] finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Platform {
    /// The architecture as Rust names it (`std::env::consts::ARCH`).
    pub arch: &'static str,
    /// The Rust target of the static binary.
    pub target: &'static str,
    /// The architecture as container platforms name it: `linux/<this>`, the Dockerfile's
    /// `TARGETARCH`, the release's `release/linux/<this>/shiplog-server`.
    pub docker_arch: &'static str,
    /// The `e_machine` of the binary's ELF header.
    pub machine: u16,
}

/// Every platform the static server and the image are built for.
pub const PLATFORMS: [Platform; 2] = [
    Platform {
        arch: "x86_64",
        target: "x86_64-unknown-linux-musl",
        docker_arch: "amd64",
        machine: EM_X86_64,
    },
    Platform {
        arch: "aarch64",
        target: "aarch64-unknown-linux-musl",
        docker_arch: "arm64",
        machine: EM_AARCH64,
    },
];

impl Platform {
    /// This machine's platform (the architecture xtask was built for).
    pub fn host() -> anyhow::Result<Platform> {
        let arch = std::env::consts::ARCH;
        PLATFORMS
            .into_iter()
            .find(|platform| platform.arch == arch)
            .with_context(|| {
                format!(
                    "the static server is built on x86_64 or aarch64 machines, not on {arch} \
                     (there is no musl target for it here)"
                )
            })
    }

    /// The platform whose binaries have ELF machine `machine`.
    fn of_machine(machine: u16) -> Option<Platform> {
        PLATFORMS
            .into_iter()
            .find(|platform| platform.machine == machine)
    }

    /// The variable the `cc` crate reads for the target's C compiler.
    fn cc_variable(self) -> String {
        format!("CC_{}", self.target.replace('-', "_"))
    }
}

/// The environment variable the image test reads to find the static binary to run (set by
/// `cargo xtask test` to the one [`build_binary`] returned).
pub const STATIC_SERVER_ENV: &str = "SHIPLOG_STATIC_SERVER";

/// The tag given to the image unless `--tag` says otherwise: the GitHub organisation of the
/// workspace's repository and the workspace's version.
const DEFAULT_TAG: &str = concat!(
    "ghcr.io/shiplog-dev/shiplog-server:",
    env!("CARGO_PKG_VERSION")
);

#[derive(clap::Args)]
#[command(
    after_help = "The binary and the image are for this machine's architecture (linux/amd64 on \
x86_64, linux/arm64 on aarch64). The image is `FROM scratch`: the binary alone, run as \
65532:65532, SQLite in the volume /data (SHIPLOG_DATABASE=sqlite:///data/shiplog.db), \
listening on 0.0.0.0:8080. The static binary is left in \
target/<x86_64|aarch64>-unknown-linux-musl/release/."
)]
pub struct Args {
    /// The image's tag.
    #[arg(long, default_value = DEFAULT_TAG, value_name = "ghcr.io/OWNER/shiplog-server:VERSION")]
    pub tag: String,
    /// The container engine to build with. Default: docker, else podman, the first that answers;
    /// with neither, only the binary is built and checked.
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Build and check the static binary only, even when an engine is there.
    #[arg(long)]
    pub no_image: bool,
    /// Embed console/dist as it is instead of building the console first (it must exist).
    #[arg(long)]
    pub no_console: bool,
}

/// A container engine that builds images from a Dockerfile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if !args.no_console {
        setup::console_tools()?;
        console::build()?;
    }
    let binary = build_binary()?;
    if args.no_image {
        eprintln!("image: the image was not built (--no-image)");
        return Ok(());
    }
    let engine = match args.engine {
        Some(engine) => {
            if let Err(reason) = answers(engine) {
                bail!("{} does not answer: {reason}", engine.program());
            }
            engine
        }
        None => match find_engine() {
            Ok(engine) => engine,
            Err(reasons) => {
                eprintln!(
                    "image: no container engine, so no image: {reasons}. The static binary is \
                     built and checked: {}",
                    binary.display()
                );
                return Ok(());
            }
        },
    };
    build_image(engine, Platform::host()?, &args.tag)
}

/// Where [`build_binary`] leaves the static binary for `platform`.
pub fn binary_path(platform: Platform) -> PathBuf {
    root()
        .join("target")
        .join(platform.target)
        .join("release")
        .join("shiplog-server")
}

/// Builds the static `shiplog-server` for this machine (installing the musl target and
/// musl-gcc when missing), checks it, and returns its path. The console is embedded as
/// console/dist has it.
pub fn build_binary() -> anyhow::Result<PathBuf> {
    let platform = Platform::host()?;
    let target = platform.target;
    ensure_toolchain(platform)?;
    eprintln!(
        "image: building the static shiplog-server for {target} (several minutes the first time)"
    );
    let started = Instant::now();
    // Only the server's package: with the whole workspace, the test kit's `test-issuer` feature
    // would be unified into the server.
    exec(
        cargo()
            .args(["build", "--release", "--package", "shiplog-server"])
            .args(["--target", target])
            .env("CARGO_TARGET_DIR", root().join("target"))
            // musl's C compiler for ring and SQLite, whatever CC says for the host.
            .env(platform.cc_variable(), "musl-gcc"),
    )?;
    let binary = binary_path(platform);
    let linkage = check(&binary, platform)?;
    let size = std::fs::metadata(&binary)?.len();
    let seconds = started.elapsed().as_secs();
    eprintln!(
        "image: {} is {:.1} MB, {linkage}, with the console embedded (built in {}m{:02}s)",
        binary.display(),
        size as f64 / 1e6,
        seconds / 60,
        seconds % 60
    );
    Ok(binary)
}

/// The musl target of `platform` (rustup) and musl-gcc (Debian's musl-tools, with `sudo` when
/// not root), installed when missing.
pub fn ensure_toolchain(platform: Platform) -> anyhow::Result<()> {
    let target = platform.target;
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the musl target is installed with it)")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == target)
    {
        eprintln!("image: installing the {target} target");
        exec(Command::new("rustup").args(["target", "add", target]))?;
    }
    if !on_path("musl-gcc") {
        eprintln!("image: installing musl-gcc (Debian's musl-tools)");
        setup::Apt::default()
            .install(&["musl-tools"])
            .with_context(|| {
                format!(
                    "musl-gcc is needed to compile the C in the server's dependencies for \
                     {target} (Debian: musl-tools)"
                )
            })?;
    }
    Ok(())
}

/// Checks that `binary` runs with nothing around it on `platform`: an ELF file for its machine,
/// with no interpreter and no needed library, embedding the console as console/dist has it now.
pub fn check(binary: &Path, platform: Platform) -> anyhow::Result<Linkage> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let linkage = linkage(&bytes).with_context(|| format!("reading {}", binary.display()))?;
    if linkage.machine != platform.machine {
        bail!(
            "{} is built for {}, not {} (ELF machine {}, not {})",
            binary.display(),
            Platform::of_machine(linkage.machine).map_or("another machine", |other| other.arch),
            platform.arch,
            linkage.machine,
            platform.machine
        );
    }
    if let Some(interpreter) = &linkage.interpreter {
        bail!(
            "{} is not static: it asks for the loader {interpreter}",
            binary.display()
        );
    }
    if linkage.needed > 0 {
        bail!(
            "{} is not static: it needs {} shared libraries",
            binary.display(),
            linkage.needed
        );
    }
    let index = console::dist().join("index.html");
    let index = std::fs::read(&index).with_context(|| {
        format!(
            "reading {} (the server would embed no console: run `cargo xtask console`)",
            index.display()
        )
    })?;
    anyhow::ensure!(
        contains(&bytes, &index),
        "{} does not embed the console now in console/dist (build the console before the server)",
        binary.display()
    );
    Ok(linkage)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// How an ELF file is linked, from its program headers, and for which machine.
#[derive(Debug, PartialEq, Eq)]
pub struct Linkage {
    /// `e_machine`: the architecture it runs on (62 x86-64, 183 AArch64).
    pub machine: u16,
    /// The loader named by `PT_INTERP`.
    pub interpreter: Option<String>,
    /// Whether there is a `PT_DYNAMIC` segment.
    pub dynamic: bool,
    /// How many `DT_NEEDED` libraries it names.
    pub needed: usize,
    /// Whether it is position independent (loaded at a random address).
    pub pie: bool,
}

impl std::fmt::Display for Linkage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.interpreter, self.needed, self.dynamic, self.pie) {
            (Some(interpreter), _, _, _) => write!(f, "dynamically linked ({interpreter})"),
            (None, needed @ 1.., _, _) => write!(f, "needs {needed} shared libraries"),
            (None, 0, false, _) => f.write_str("static, no interpreter, no dynamic section"),
            (None, 0, true, true) => f.write_str(
                "static PIE: no interpreter, no shared library (its dynamic section only \
                 relocates it)",
            ),
            (None, 0, true, false) => {
                f.write_str("static: no interpreter, a dynamic section naming no library")
            }
        }
    }
}

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// Reads the linkage of a 64-bit little-endian ELF file, as both of [`PLATFORMS`] have them
/// (enough of the format for one question, so no ELF crate).
pub fn linkage(elf: &[u8]) -> anyhow::Result<Linkage> {
    anyhow::ensure!(elf.starts_with(b"\x7fELF"), "not an ELF file");
    anyhow::ensure!(
        elf.get(4) == Some(&2) && elf.get(5) == Some(&1),
        "not a 64-bit little-endian ELF file"
    );
    let machine = u16_at(elf, 18)?;
    let pie = u16_at(elf, 16)? == ET_DYN;
    let table = usize::try_from(u64_at(elf, 32)?)?;
    let entry_size = usize::from(u16_at(elf, 54)?);
    let entries = usize::from(u16_at(elf, 56)?);
    anyhow::ensure!(
        entry_size >= 56,
        "program header entries of {entry_size} bytes"
    );
    let mut linkage = Linkage {
        machine,
        interpreter: None,
        dynamic: false,
        needed: 0,
        pie,
    };
    for index in 0..entries {
        let header = table + index * entry_size;
        let offset = usize::try_from(u64_at(elf, header + 8)?)?;
        let size = usize::try_from(u64_at(elf, header + 32)?)?;
        let contents = elf
            .get(offset..offset.saturating_add(size))
            .context("a segment lies past the end of the file")?;
        match u32_at(elf, header)? {
            PT_INTERP => {
                let name = contents.split(|&b| b == 0).next().unwrap_or_default();
                linkage.interpreter = Some(String::from_utf8_lossy(name).into_owned());
            }
            PT_DYNAMIC => {
                linkage.dynamic = true;
                for entry in contents.chunks_exact(16) {
                    match u64_at(entry, 0)? {
                        DT_NULL => break,
                        DT_NEEDED => linkage.needed += 1,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(linkage)
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> anyhow::Result<[u8; N]> {
    bytes
        .get(at..at + N)
        .and_then(|slice| slice.try_into().ok())
        .context("the ELF headers are cut short")
}

fn u16_at(bytes: &[u8], at: usize) -> anyhow::Result<u16> {
    field(bytes, at).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> anyhow::Result<u32> {
    field(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> anyhow::Result<u64> {
    field(bytes, at).map(u64::from_le_bytes)
}

/// docker, else podman: the first on PATH that answers; else why neither does.
fn find_engine() -> Result<Engine, String> {
    let mut reasons = Vec::new();
    for engine in [Engine::Docker, Engine::Podman] {
        match answers(engine) {
            Ok(()) => return Ok(engine),
            Err(reason) => reasons.push(format!("{}: {reason}", engine.program())),
        }
    }
    Err(reasons.join("; "))
}

/// Whether `engine` is on PATH and its `info` succeeds (docker's daemon may be down).
fn answers(engine: Engine) -> Result<(), String> {
    let program = engine.program();
    if !on_path(program) {
        return Err("not on PATH".into());
    }
    let mut child = Command::new(program)
        .arg("info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{program} info` did not finish in 30 s"));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let said = stderr
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("no message");
    Err(format!(
        "on PATH but `{program} info` failed ({status}): {said}"
    ))
}

fn build_image(engine: Engine, platform: Platform, tag: &str) -> anyhow::Result<()> {
    let platform = format!("linux/{}", platform.docker_arch);
    eprintln!(
        "image: building {tag} for {platform} with {} (its builder stage compiles the server \
         again in the rust image; minutes the first time, cached after)",
        engine.program()
    );
    let revision = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |out| String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        );
    let mut command = Command::new(engine.program());
    command
        .current_dir(root())
        .args(["build", "--platform", &platform, "--file", "Dockerfile"])
        .args(["--tag", tag])
        .args([
            "--build-arg",
            concat!("VERSION=", env!("CARGO_PKG_VERSION")),
        ])
        .arg("--build-arg")
        .arg(format!("REVISION={revision}"))
        .arg(".");
    if engine == Engine::Docker {
        // The Dockerfile's cache mounts need BuildKit.
        command.env("DOCKER_BUILDKIT", "1");
    }
    exec(&mut command)?;
    eprintln!(
        "image: built {tag}; run it with `{} run -p 8080:8080 -v shiplog:/data {tag}`",
        engine.program()
    );
    Ok(())
}

#[cfg(test)]
mod tests;
