//! Test support shared by this crate's tests and by the server's: a real SMTP server
//! (`scripts/smtp-sink.py`, aiosmtpd) run as a child process, in a Python venv of its own.
//!
//! The venv lives in `$CARGO_TARGET_DIR/smtp-venv` (`target/smtp-venv` when the variable is not
//! set) and is made on first use with `python3 -m venv` and pip, with aiosmtpd and its two
//! dependencies pinned. A lock file keeps tests that start at the same time (in this process or
//! another) from building it twice.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// What pip installs into the venv, every version pinned.
pub const AIOSMTPD_REQUIREMENTS: [&str; 3] = ["aiosmtpd==1.4.6", "atpublic==9.0.0", "attrs==26.1.0"];

/// Serialises venv creation inside this process; the lock file does it across processes.
static VENV: Mutex<()> = Mutex::new(());

/// Where the venv is, whether or not it exists yet.
pub fn smtp_venv_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("smtp-venv"),
        _ => workspace_root().join("target").join("smtp-venv"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// The script, in the repository.
pub fn smtp_sink_script() -> PathBuf {
    workspace_root().join("scripts").join("smtp-sink.py")
}

/// Makes the venv unless it is there already, and returns its Python.
pub fn ensure_smtp_venv() -> std::io::Result<PathBuf> {
    let dir = smtp_venv_dir();
    let python = dir.join("bin").join("python");
    let ready = dir.join(format!("ready-{}", AIOSMTPD_REQUIREMENTS.join("-")));
    if ready.exists() {
        return Ok(python);
    }

    let _in_process = VENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let parent = dir.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent)?;
    let _across_processes = LockFile::acquire(&parent.join("smtp-venv.lock"))?;
    if ready.exists() {
        return Ok(python);
    }

    if dir.exists() {
        // Half made by a run that died: start again.
        std::fs::remove_dir_all(&dir)?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&dir), "python3 -m venv")?;
    run(
        Command::new(dir.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-deps"])
            .args(AIOSMTPD_REQUIREMENTS),
        "pip install aiosmtpd",
    )?;
    std::fs::write(&ready, b"")?;
    Ok(python)
}

fn run(command: &mut Command, what: &str) -> std::io::Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

/// A lock held while a file exists: made with `create_new`, removed on drop. A lock older than
/// ten minutes is taken to be left by a process that died.
struct LockFile(PathBuf);

impl LockFile {
    fn acquire(path: &Path) -> std::io::Result<LockFile> {
        let started = SystemTime::now();
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(_) => return Ok(LockFile(path.to_path_buf())),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(path)
                        .and_then(|metadata| metadata.modified())
                        .ok()
                        .and_then(|modified| modified.elapsed().ok());
                    if age.is_some_and(|age| age > Duration::from_secs(600)) {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if started.elapsed().unwrap_or_default() > Duration::from_secs(900) {
                        return Err(std::io::Error::other("timed out waiting for the smtp-venv lock"));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => return Err(error),
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// How the SMTP sink should behave.
#[derive(Debug, Clone, Default)]
pub struct SmtpSinkOptions {
    /// Recipients answered with 550 at `RCPT TO`.
    pub refuse: Vec<String>,
    /// How many messages are answered with 451 at `DATA` before the sink accepts.
    pub fail_first: u32,
    /// A certificate and its key (PEM files): the sink offers STARTTLS and requires it.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// The running SMTP sink. Dropping it stops the process.
#[derive(Debug)]
pub struct SmtpSink {
    child: Child,
    // Held open so the sink exits by itself (`--exit-on-stdin-eof`) if this process dies
    // without running Drop.
    _stdin: Option<ChildStdin>,
    port: u16,
    dir: PathBuf,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    /// The bytes exactly as received.
    pub raw: Vec<u8>,
    /// Python's decoding of it: `mail_from`, `rcpt_tos`, `headers` ([name, value] pairs) and
    /// `body`.
    pub decoded: serde_json::Value,
}

impl ReceivedEmail {
    /// The decoded value of the first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.decoded["headers"].as_array()?.iter().find_map(|pair| {
            let found = pair[0].as_str()?.eq_ignore_ascii_case(name);
            found.then(|| pair[1].as_str().map(str::to_owned)).flatten()
        })
    }

    /// The decoded body text.
    pub fn body(&self) -> Option<&str> {
        self.decoded["body"].as_str()
    }
}

impl SmtpSink {
    /// Starts the sink on a free loopback port, writing into `dir`, and waits until it listens.
    pub fn start(dir: &Path, options: &SmtpSinkOptions) -> std::io::Result<SmtpSink> {
        let python = ensure_smtp_venv()?;
        std::fs::create_dir_all(dir)?;
        let log = dir.join(".smtp-sink.log");
        let mut command = Command::new(python);
        command
            .arg(smtp_sink_script())
            .arg("--dir")
            .arg(dir)
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .arg("--fail-first")
            .arg(options.fail_first.to_string());
        for address in &options.refuse {
            command.arg("--refuse").arg(address);
        }
        if let Some((certificate, key)) = &options.tls {
            command.arg("--tls-cert").arg(certificate).arg("--tls-key").arg(key);
        }
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(std::fs::File::create(&log)?).spawn()?;
        let stdin = child.stdin.take();

        // The first line is the port: once it is printed the socket is listening.
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            let mut text = String::new();
            let _ = std::fs::File::open(&log).and_then(|mut file| file.read_to_string(&mut text));
            return Err(std::io::Error::other(format!("the SMTP sink did not start: {text}")));
        };
        Ok(SmtpSink { child, _stdin: stdin, port, dir: dir.to_path_buf() })
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> std::io::Result<Vec<ReceivedEmail>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
            .filter(|path| !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|path| {
                let raw = std::fs::read(&path)?;
                let json = std::fs::read(path.with_extension("json"))?;
                let decoded = serde_json::from_slice(&json).map_err(std::io::Error::other)?;
                Ok(ReceivedEmail { raw, decoded })
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-page PDF with a correct cross-reference table.
pub fn minimal_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}
