//! Tests in parallel: each test thread's local configuration, carried to the threads and
//! futures it hands work to, and nowhere else. These tests run under `cargo test` with the
//! default number of test threads, all at once, on the same point.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

fn append() -> Result<(), String> {
    failinject::fail_point!("par::append", |arg: Option<String>| Err(arg.unwrap_or_default()));
    Ok(())
}

async fn append_async() -> Result<(), String> {
    failinject::fail_point_async!(
        "par::append",
        |arg: Option<String>| Err(arg.unwrap_or_default())
    );
    Ok(())
}

/// Eight tests, each failing the same point with its own message, many times over, while
/// the others do the same.
macro_rules! own_fault {
    ($($test:ident = $msg:literal),*) => {$(
        #[test]
        fn $test() {
            failinject::local::cfg("par::append", concat!("return(", $msg, ")")).unwrap();
            for _ in 0..20_000 {
                assert_eq!(append(), Err($msg.to_string()));
            }
            // Threads this test did not start see nothing of it.
            assert_eq!(std::thread::spawn(append).join().unwrap(), Ok(()));
            failinject::local::clear();
            assert_eq!(append(), Ok(()));
        }
    )*};
}

own_fault!(
    test_a = "a",
    test_b = "b",
    test_c = "c",
    test_d = "d",
    test_e = "e",
    test_f = "f",
    test_g = "g",
    test_h = "h"
);

#[test]
fn a_spawned_thread_shares_the_configuration_and_its_counters() {
    failinject::local::cfg("par::append", "3*return(shared)").unwrap();
    let workers: Vec<_> = (0..3).map(|_| failinject::local::spawn(append)).collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(results, vec![Err("shared".to_string()); 3]);
    // The three returns are used up among the threads.
    assert_eq!(append(), Ok(()));
    failinject::local::clear();
}

#[test]
fn a_bound_future_takes_the_configuration_to_the_thread_that_polls_it() {
    failinject::local::cfg("par::append", "return(bound)").unwrap();
    let bound = failinject::local::bind(append_async());
    failinject::local::clear();
    let unbound = append_async();
    let results = std::thread::spawn(move || {
        // Polled by hand, with a waker that does nothing: both are ready at once.
        let mut cx = Context::from_waker(Waker::noop());
        let bound = pin!(bound).poll(&mut cx);
        let unbound = pin!(unbound).poll(&mut cx);
        // The polling thread's own configuration is back after the poll.
        (bound, unbound, append())
    })
    .join()
    .unwrap();
    assert_eq!(results, (Poll::Ready(Err("bound".into())), Poll::Ready(Ok(())), Ok(())));
}

#[test]
fn a_tokio_task_moving_between_workers_keeps_its_faults() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    failinject::local::cfg("par::append", "return(task)").unwrap();
    let threads = Arc::new(Mutex::new(HashSet::new()));
    // Several tasks that yield often, so idle workers steal them: a task resumes on another
    // worker than the one it paused on.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let threads = Arc::clone(&threads);
            runtime.spawn(failinject::local::bind(async move {
                let mut seen = HashSet::new();
                for _ in 0..500 {
                    seen.insert(std::thread::current().id());
                    assert_eq!(append_async().await, Err("task".to_string()));
                    assert_eq!(append(), Err("task".to_string()));
                    tokio::task::yield_now().await;
                }
                threads.lock().unwrap().insert(seen.len());
            }))
        })
        .collect();
    // A task that was not bound sees nothing, on the same workers.
    let plain = runtime.spawn(async { append_async().await });
    runtime.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(plain.await.unwrap(), Ok(()));
    });
    failinject::local::clear();
    let moved = threads.lock().unwrap().iter().any(|n| *n > 1);
    assert!(moved, "no task ran on more than one worker: the test proved nothing");
}

#[test]
fn spawn_blocking_is_not_covered_by_bind_and_wrap_covers_it() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    failinject::local::cfg("par::append", "return(mine)").unwrap();
    let (plain, wrapped) = runtime.block_on(failinject::local::bind(async {
        let plain = tokio::task::spawn_blocking(append).await.unwrap();
        let wrapped = tokio::task::spawn_blocking(failinject::local::wrap(append)).await.unwrap();
        (plain, wrapped)
    }));
    failinject::local::clear();
    assert_eq!(plain, Ok(()), "the blocking pool does not run with the task's configuration");
    assert_eq!(wrapped, Err("mine".to_string()));
}
