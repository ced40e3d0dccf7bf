//! A real `redis-server` on a free loopback port, with a password, started by the test and
//! killed when dropped; `redis-cli` reads and writes what the library stored.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "redis-test-pässword";

pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    tls: Option<PathBuf>,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    /// A server in `dir` (its log goes there); with `tls_dir` (the sandbox's: `server.pem`,
    /// `server-key.pem`), TLS only.
    pub fn start(dir: &Path, tls_dir: Option<&Path>) -> Redis {
        let mut redis = Redis { port: free_port(), dir: dir.to_owned(), tls: tls_dir.map(Path::to_owned), child: None };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        let pass: String = url_escape(PASSWORD);
        match self.tls {
            Some(_) => format!("rediss://:{pass}@localhost:{}", self.port),
            None => format!("redis://:{pass}@127.0.0.1:{}", self.port),
        }
    }

    /// Starts it (again, on the same port), and waits until it answers.
    pub fn restart(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--requirepass", PASSWORD]);
        cmd.arg("--dir").arg(&self.dir).arg("--logfile").arg(self.dir.join("redis.log"));
        match &self.tls {
            Some(tls) => {
                cmd.args(["--port", "0", "--tls-port", &self.port.to_string(), "--tls-auth-clients", "no"]);
                cmd.arg("--tls-cert-file").arg(tls.join("server.pem")).arg("--tls-key-file").arg(tls.join("server-key.pem"));
                cmd.arg("--tls-ca-cert-file").arg(tls.join("ca.pem"));
            }
            None => {
                cmd.args(["--port", &self.port.to_string()]);
            }
        }
        self.child = Some(cmd.stdout(Stdio::null()).spawn().expect("redis-server (make deps installs it)"));
        let start = Instant::now();
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start: {:?}",
                std::fs::read_to_string(self.dir.join("redis.log"))
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis-cli` with the password; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--no-auth-warning", "-a", PASSWORD]);
        if let Some(tls) = &self.tls {
            cmd.arg("--tls").arg("--cacert").arg(tls.join("ca.pem"));
        }
        let out = cmd.args(args).stderr(Stdio::null()).output().expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The keys the library wrote.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.cli(&["--raw", "KEYS", "doku-snap:*"]).lines().map(str::to_owned).filter(|k| !k.is_empty()).collect();
        keys.sort();
        keys
    }
}

fn url_escape(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One RESP command (an array of bulk strings) from `r`.
fn read_command(r: &mut std::io::BufReader<std::net::TcpStream>) -> Option<Vec<Vec<u8>>> {
    use std::io::{BufRead, Read};
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let n: usize = line.trim().strip_prefix('*')?.parse().ok()?;
    let mut args = Vec::new();
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).ok()?;
        let len: usize = line.trim().strip_prefix('$')?.parse().ok()?;
        let mut buf = vec![0u8; len + 2];
        r.read_exact(&mut buf).ok()?;
        buf.truncate(len);
        args.push(buf);
    }
    Some(args)
}

/// A fake Redis on a loopback port: `answer` maps each command to the bytes of its answer; each
/// batch of commands (pipelined, or one alone) is answered after `delay`. Returns the port and the names of the commands it received.
pub fn fake(delay: Duration, answer: fn(&[Vec<u8>]) -> Vec<u8>) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = std::io::BufReader::new(conn);
                let mut pending = Vec::new();
                while let Some(cmd) = read_command(&mut r) {
                    log.lock().unwrap().push(String::from_utf8_lossy(&cmd[0]).into_owned());
                    pending.extend(answer(&cmd));
                    // Pipelined commands are answered together, after one delay.
                    if r.buffer().is_empty() {
                        std::thread::sleep(delay);
                        if w.write_all(&pending).is_err() {
                            return;
                        }
                        pending.clear();
                    }
                }
            });
        }
    });
    (port, seen)
}

/// What an empty Redis answers.
pub fn empty(cmd: &[Vec<u8>]) -> Vec<u8> {
    match cmd[0].to_ascii_uppercase().as_slice() {
        b"GET" => b"$-1\r\n".to_vec(),
        b"PTTL" => b":-2\r\n".to_vec(),
        b"EVAL" => b":0\r\n".to_vec(),
        _ => b"+OK\r\n".to_vec(),
    }
}
