//! The record of changes explore's crash search reads (`FAILINJECT_CHANGES`,
//! `preload/src/changes.rs`), from a real program under the real library: every change to
//! files and directories in order, with the bytes each write left, pages stored through a
//! shared mapping found at their sync, and a forked child's changes in files of its own.

use failinject_tests::{Run, TempDir, have};
use serde_json::Value;
use std::time::Duration;

const PROGRAM: &str = r#"
import mmap, os
fd = os.open("f", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"hello world")
os.pwrite(fd, b"HELLO", 0)
os.fsync(fd)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[5000:5004] = b"mmap"
m.flush()
os.close(fd)
os.mkdir("d")
os.rename("f", "d/g")
d = os.open("d", os.O_RDONLY)
os.fsync(d)
os.unlink("old")
s = os.open("s", os.O_WRONLY | os.O_CREAT | os.O_DSYNC, 0o644)
os.write(s, b"durable")
pid = os.fork()
if pid == 0:
    c = os.open("child", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(c, b"from the child")
    os._exit(0)
os.waitpid(pid, 0)
a = os.open("a", os.O_RDWR | os.O_CREAT, 0o644)
os.write(a, b"x" * 8192)
os.posix_fallocate(a, 0, 20000)
"#;

#[test]
fn every_change_is_recorded_in_order_with_its_bytes_and_site() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("changes");
    let rec = TempDir::new("changes-rec");
    std::fs::write(dir.join("old"), "x").unwrap();
    let done = Run::new(dir.path(), "", "python3", &["-c", PROGRAM])
        .env("FAILINJECT_CHANGES", rec.path())
        .bounded(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    // The records of both processes, each in its own file.
    let mut files: Vec<_> = std::fs::read_dir(rec.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.to_string_lossy().ends_with(".jsonl") && std::fs::metadata(p).unwrap().len() > 0
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "the parent's and the child's: {files:?}");
    let mut records: Vec<(Value, std::path::PathBuf)> = Vec::new();
    for f in &files {
        let pid = f.file_name().unwrap().to_string_lossy().split('.').nth(1).unwrap().to_string();
        let data = rec.join(&format!("data.{pid}"));
        for line in std::fs::read_to_string(f).unwrap().lines() {
            records.push((serde_json::from_str(line).unwrap(), data.clone()));
        }
    }
    records.sort_by_key(|(r, _)| r["t"].as_u64().unwrap());
    let ops: Vec<String> = records
        .iter()
        .map(|(r, _)| {
            let mut op = r["op"].as_str().unwrap().to_string();
            if r["via"] == "mmap" {
                op.push_str("(mmap)");
            }
            if r["dsync"] == true {
                op.push_str("(dsync)");
            }
            if r["dir"] == true {
                op.push_str("(dir)");
            }
            op
        })
        .collect();
    assert_eq!(
        ops,
        [
            "create",
            "write",
            "write",
            "fsync",
            "truncate",
            "write(mmap)",
            "msync",
            "create(dir)",
            "rename",
            "fsync(dir)",
            "unlink",
            "create",
            "write(dsync)",
            "create",
            "write",
            "create",
            "write",
            "truncate",
            // At exit: the mapping's stores since its msync (none here; it was unmapped
            // first, so the kernel cannot tell, and all of it is recorded).
            "write(mmap)"
        ],
        "{records:#?}"
    );
    // Each write's bytes are in its process's data file, where its record says.
    let bytes = |(r, data): &(Value, std::path::PathBuf)| {
        let all = std::fs::read(data).unwrap();
        let (at, len) = (r["at"].as_u64().unwrap() as usize, r["len"].as_u64().unwrap() as usize);
        all[at..at + len].to_vec()
    };
    assert_eq!(bytes(&records[1]), b"hello world");
    assert_eq!((records[2].0["off"].as_u64(), bytes(&records[2])), (Some(0), b"HELLO".to_vec()));
    let page = bytes(&records[5]);
    assert_eq!(records[5].0["off"], 4096, "the page stored to, found at the msync");
    assert_eq!(&page[5000 - 4096..5004 - 4096], b"mmap");
    assert_eq!(records[8].0["to"].as_str().map(|t| t.ends_with("/d/g")), Some(true));
    assert_eq!(bytes(&records[14]), b"from the child");
    // An allocation is the size it leaves.
    assert_eq!(records[17].0["len"], 20000, "{:?}", records[17]);
    assert_ne!(records[14].0["pid"], records[0].0["pid"]);
    // Every record names its call site, and a site's frames come with its first record.
    assert!(records.iter().all(|(r, _)| r["site"].as_str().is_some_and(|s| !s.is_empty())));
    assert!(records[0].0["frames"].as_array().is_some_and(|f| !f.is_empty()), "{:?}", records[0]);
}

/// Pages stored through a shared mapping and never synced are recorded at exit: a crash state
/// may keep or lose them (LMDB with `MDB_NOSYNC` never syncs its map).
#[test]
fn stores_through_a_mapping_never_synced_are_recorded_at_exit() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("changes-map-exit");
    let rec = TempDir::new("changes-map-exit-rec");
    std::fs::write(dir.join("m"), vec![b'0'; 16384]).unwrap();
    let program = "import mmap, os\nfd = os.open('m', os.O_RDWR)\n\
                   m = mmap.mmap(fd, 16384, mmap.MAP_SHARED)\nm[9000:9005] = b'never'\n";
    let done = Run::new(dir.path(), "", "python3", &["-c", program])
        .env("FAILINJECT_CHANGES", rec.path())
        .bounded(Duration::from_secs(30));
    assert_eq!(done.code, Some(0), "{done:?}");
    let records: Vec<Value> = std::fs::read_dir(rec.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".jsonl"))
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    let stores: Vec<&Value> = records.iter().filter(|r| r["via"] == "mmap").collect();
    assert_eq!(stores.len(), 1, "{records:?}");
    // Python unmaps it before exit, so the kernel cannot tell which page: all of it, as the
    // file holds it now.
    let (off, len) = (stores[0]["off"].as_u64().unwrap(), stores[0]["len"].as_u64().unwrap());
    assert!(off <= 9000 && 9005 <= off + len, "{:?}", stores[0]);
    let pid = stores[0]["pid"].as_u64().unwrap();
    let data = std::fs::read(rec.join(&format!("data.{pid}"))).unwrap();
    let at = stores[0]["at"].as_u64().unwrap() as usize;
    let page = &data[at..at + len as usize];
    assert_eq!(&page[(9000 - off) as usize..(9005 - off) as usize], b"never");
}
