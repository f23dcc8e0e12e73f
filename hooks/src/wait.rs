//! The tasks that wait (`sleep`, `delay`, `pause`, `yield`): blocking for `fail_point!`,
//! awaited for `fail_point_async!`.
//!
//! An awaited wait must not block the executor's thread, and must not assume a runtime. The
//! default timer is one background thread, started on first use, that keeps a heap of
//! deadlines and wakes each waiting task's [`Waker`] when its deadline passes. The thread
//! blocks every signal before it does anything else, so a signal meant for the program (a
//! `SIGINT`, a `SIGCHLD`, a `SIGPROF` of a profiler) is never delivered to it.
//!
//! With the `tokio` feature, inside a tokio runtime, tokio's own timer is used instead, so a
//! test that calls `tokio::time::pause()` advances fail point sleeps with its clock.

use failinject_engine::RuleState;
use failinject_engine::abi::PauseDone;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A task that waits, decided but not carried out yet.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// `sleep(ms)`.
    Sleep(u64),
    /// `delay(ms)`: a busy-wait in `fail_point!`, a sleep in `fail_point_async!`.
    Delay(u64),
    /// `pause`: until the rule is replaced or removed.
    Pause(&'static RuleState),
    /// `pause` decided by the preload: until it says the rule was replaced or removed
    /// (`failinject_v1_pause_done` with this token).
    PreloadPause(usize, PauseDone),
    /// `yield`.
    Yield,
}

impl PartialEq for Wait {
    fn eq(&self, other: &Wait) -> bool {
        match (self, other) {
            (Wait::Sleep(a), Wait::Sleep(b)) | (Wait::Delay(a), Wait::Delay(b)) => a == b,
            (Wait::Pause(a), Wait::Pause(b)) => std::ptr::eq(*a, *b),
            (Wait::PreloadPause(a, _), Wait::PreloadPause(b, _)) => a == b,
            (Wait::Yield, Wait::Yield) => true,
            _ => false,
        }
    }
}

impl Eq for Wait {}

/// Whether the preload's paused rule (its token) was replaced or removed.
fn preload_pause_done(token: usize, done: PauseDone) -> bool {
    // SAFETY: `token` came from `failinject_v1_eval_deferred` of the same preload, which
    // never frees the rule it names.
    unsafe { done(token as *const libc::c_void) != 0 }
}

/// How often a paused point looks whether its rule was retired.
const PAUSE_POLL: Duration = Duration::from_millis(1);

impl Wait {
    /// Waits, blocking the calling thread.
    pub fn block(self) {
        match self {
            Wait::Sleep(ms) => std::thread::sleep(Duration::from_millis(ms)),
            Wait::Delay(ms) => {
                let end = Instant::now() + Duration::from_millis(ms);
                while Instant::now() < end {
                    std::hint::spin_loop();
                }
            }
            Wait::Pause(state) => {
                while !state.is_retired() {
                    std::thread::sleep(PAUSE_POLL);
                }
            }
            Wait::PreloadPause(token, done) => {
                while !preload_pause_done(token, done) {
                    std::thread::sleep(PAUSE_POLL);
                }
            }
            Wait::Yield => std::thread::yield_now(),
        }
    }

    /// Waits without blocking the executor.
    pub async fn wait(self) {
        match self {
            Wait::Sleep(ms) | Wait::Delay(ms) => sleep(Duration::from_millis(ms)).await,
            Wait::Pause(state) => {
                while !state.is_retired() {
                    sleep(PAUSE_POLL).await;
                }
            }
            Wait::PreloadPause(token, done) => {
                while !preload_pause_done(token, done) {
                    sleep(PAUSE_POLL).await;
                }
            }
            Wait::Yield => YieldNow(false).await,
        }
    }
}

/// Sleeps for `d` on tokio's timer when the `tokio` feature is on and the task runs inside a
/// tokio runtime (which must then have its time driver: `enable_time`, as `#[tokio::test]`
/// and `#[tokio::main]` give it), else on ours.
async fn sleep(d: Duration) {
    #[cfg(feature = "tokio")]
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::sleep(d).await;
        return;
    }
    Sleep { deadline: Instant::now() + d }.await
}

/// Ready on the second poll, having woken itself once: lets the executor run other tasks.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A deadline on our timer thread.
struct Sleep {
    deadline: Instant,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        timer().add(self.deadline, cx.waker().clone());
        Poll::Pending
    }
}

/// A deadline and the task to wake then, ordered by deadline.
struct Entry(Instant, Waker);

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.0 == other.0
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

struct Timer {
    heap: Mutex<BinaryHeap<Reverse<Entry>>>,
    changed: Condvar,
}

impl Timer {
    fn add(&self, deadline: Instant, waker: Waker) {
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        heap.push(Reverse(Entry(deadline, waker)));
        self.changed.notify_one();
    }

    /// The timer thread: wakes each task at its deadline, sleeping until the earliest one.
    fn run(&self) {
        block_all_signals();
        let mut heap = self.heap.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            while heap.peek().is_some_and(|Reverse(e)| e.0 <= now) {
                if let Some(Reverse(Entry(_, waker))) = heap.pop() {
                    waker.wake();
                }
            }
            heap = match heap.peek() {
                Some(Reverse(e)) => {
                    let left = e.0.saturating_duration_since(now);
                    self.changed.wait_timeout(heap, left).unwrap_or_else(|e| e.into_inner()).0
                }
                None => self.changed.wait(heap).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("failinject-timer".into())
            .spawn(move || t.run())
            .expect("failinject: cannot start the timer thread of fail_point_async!");
        t
    })
}

/// Blocks every signal in the calling thread, so that none is ever delivered to it.
fn block_all_signals() {
    // SAFETY: `set` is a local sigset_t that sigfillset initialises before pthread_sigmask
    // reads it; a null old-set pointer is allowed. Both only touch the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The signal mask of the timer thread (for tests): `SigBlk` of its `/proc` status.
#[doc(hidden)]
pub fn timer_thread_sigblk() -> Option<String> {
    timer();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if name.trim() == "failinject-time" {
            let status = std::fs::read_to_string(dir.join("status")).ok()?;
            return status
                .lines()
                .find_map(|l| l.strip_prefix("SigBlk:"))
                .map(|v| v.trim().to_owned());
        }
    }
    None
}
