//! Signs SETs on a thread of its own at the lowest CPU priority (nice 19, Linux): signing is
//! the one costly step of a delivery (an RSA signature, about 0.6 ms), and background work.
//! On a busy core the scheduler gives ingest and the API nearly all of it; on an idle one,
//! deliveries go at full speed. The thread holds no lock and no database snapshot, so its
//! being starved delays deliveries and nothing else.

use crate::keyring::KeyRing;
use crate::set::SET_TYP;
use serde_json::Value;
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

struct Job {
    keys: Arc<KeyRing>,
    claims: Value,
    reply: oneshot::Sender<Result<String, String>>,
}

/// A handle on the signing thread; cheap to clone. The thread ends with the last handle.
#[derive(Clone)]
pub struct Signer {
    jobs: mpsc::Sender<Job>,
}

impl Signer {
    pub fn spawn() -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ztrisk-sign".into())
            .spawn(move || {
                background_priority();
                while let Ok(job) = queue.recv() {
                    let signed = match job.keys.active() {
                        Some(key) => key
                            .sign_jws(SET_TYP, &job.claims)
                            .map_err(|e| e.to_string()),
                        None => Err("no signing key yet".to_owned()),
                    };
                    let _ = job.reply.send(signed);
                }
            })?;
        Ok(Self { jobs })
    }

    /// The compact JWS of `claims`, signed with the active key.
    pub async fn sign(&self, keys: Arc<KeyRing>, claims: Value) -> Result<String, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                keys,
                claims,
                reply,
            })
            .map_err(|_| "the signing thread has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the signing thread dropped a job".to_owned())?
    }
}

/// The lowest priority a thread can give itself. Not `SCHED_IDLE`, which may not run at all on
/// a busy core: nice 19 still gets a trickle, so deliveries keep moving under any load.
fn background_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19) {
        tracing::warn!(error = %e, "could not lower the signing thread's priority");
    }
}
