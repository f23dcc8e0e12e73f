//! `fail_point_async!`: the forms of `fail_point!`, and waits that await instead of blocking
//! the executor's thread.

use failinject::fail_point_async;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

async fn plain(name: &'static str) {
    fail_point_async!(name);
}

async fn read(key: &str) -> Result<String, String> {
    fail_point_async!("async::read", |arg: Option<String>| Err(arg.unwrap_or_default()));
    Ok(format!("value of {key}"))
}

async fn checked(check: bool) -> u8 {
    fail_point_async!("async::checked", check, |_| 1);
    0
}

#[tokio::test]
async fn the_three_forms() {
    failinject::local::cfg("async::read", "1*return(gone)").unwrap();
    assert_eq!(read("k").await, Err("gone".to_string()));
    assert_eq!(read("k").await, Ok("value of k".to_string()));
    failinject::local::cfg("async::checked", "return").unwrap();
    assert_eq!((checked(false).await, checked(true).await), (0, 1));
    failinject::local::cfg("async::plain", "panic(boom)").unwrap();
    let panicked = tokio::spawn(failinject::local::bind(plain("async::plain"))).await;
    assert_eq!(*panicked.unwrap_err().into_panic().downcast::<String>().unwrap(), "boom");
    failinject::local::clear();
}

/// Counts ticks of a task that runs beside a sleeping point, until `stop` is set.
async fn ticker(ticks: Arc<AtomicU64>, stop: Arc<AtomicU64>) {
    while stop.load(Ordering::SeqCst) == 0 {
        ticks.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_runtime_runs_other_tasks_while_a_point_sleeps() {
    failinject::local::cfg("async::slow", "sleep(300)").unwrap();
    let (ticks, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let other = tokio::spawn(ticker(Arc::clone(&ticks), Arc::clone(&stop)));
    plain("async::slow").await;
    let during = ticks.load(Ordering::SeqCst);
    stop.store(1, Ordering::SeqCst);
    other.await.unwrap();
    failinject::local::clear();
    // A blocking sleep would have held the only thread: the ticker could not have run.
    assert!(during >= 5, "the other task ticked {during} times during a 300 ms sleep");
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_runtime_runs_other_tasks_while_a_point_is_paused() {
    failinject::local::cfg("async::paused", "pause").unwrap();
    let (ticks, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let other = tokio::spawn(ticker(Arc::clone(&ticks), Arc::clone(&stop)));
    let unpause = tokio::spawn(failinject::local::bind(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        failinject::local::remove("async::paused");
    }));
    plain("async::paused").await;
    unpause.await.unwrap();
    stop.store(1, Ordering::SeqCst);
    other.await.unwrap();
    failinject::local::clear();
    assert!(ticks.load(Ordering::SeqCst) >= 5);
}

#[tokio::test(start_paused = true)]
async fn tokio_time_pause_moves_fail_point_sleeps_with_the_clock() {
    failinject::local::cfg("async::minute", "sleep(60000)").unwrap();
    let start = tokio::time::Instant::now();
    plain("async::minute").await;
    failinject::local::clear();
    // The paused clock jumped the whole minute: the sleep was on tokio's timer.
    assert!(start.elapsed() >= Duration::from_secs(60));
}

#[test]
fn outside_any_runtime_the_timer_thread_wakes_the_task() {
    failinject::local::cfg("async::own_timer", "delay(50)").unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    struct Wake(std::sync::Mutex<std::sync::mpsc::Sender<()>>);
    impl std::task::Wake for Wake {
        fn wake(self: Arc<Self>) {
            let _ = self.0.lock().unwrap().send(());
        }
    }
    let waker = Waker::from(Arc::new(Wake(std::sync::Mutex::new(tx))));
    let mut cx = Context::from_waker(&waker);
    let mut point = pin!(plain("async::own_timer"));
    // The first poll does not block for the delay: it is pending, the timer holds the waker.
    assert_eq!(point.as_mut().poll(&mut cx), Poll::Pending);
    rx.recv_timeout(Duration::from_secs(10)).expect("the timer thread wakes the task");
    assert_eq!(point.as_mut().poll(&mut cx), Poll::Ready(()));
    failinject::local::clear();
}

#[test]
fn the_timer_thread_blocks_every_signal() {
    let mut mask = None;
    for _ in 0..1000 {
        mask = failinject::timer_thread_sigblk().and_then(|m| u64::from_str_radix(&m, 16).ok());
        if mask.is_some_and(|m| m != 0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mask = mask.expect("the timer thread's /proc status");
    for sig in
        [libc::SIGINT, libc::SIGTERM, libc::SIGCHLD, libc::SIGPROF, libc::SIGUSR1, libc::SIGALRM]
    {
        assert_ne!(mask & (1 << (sig - 1)), 0, "signal {sig} is not blocked (SigBlk {mask:x})");
    }
}
