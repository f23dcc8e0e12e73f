//! Power cuts that keep some unsynced changes (`powercut(prefix|any|torn)`, SPEC §3.5), end to
//! end under the real `libfailinject.so`: the states are the ones the mode allows, the same
//! for the same seed, and real programs meet them. Dropping every unsynced change (`all`)
//! restores a state that was consistent once; these modes are the harsher truth of a disk.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use failinject_tests::{Done, Run, TempDir, have};

const LIMIT: Duration = Duration::from_secs(30);

/// A python3 program: `f` holds 16 synced `0`s, `g` four `g`s; it writes six records across
/// both (overlapping, and one past the end of `f`), never syncs them, then calls
/// `access("cut")`, where the rule puts the power cut.
const WRITER: &str = r#"
import os
f = os.open("f", os.O_RDWR); g = os.open("g", os.O_RDWR)
for fd, data, off in [(f, b"AAAA", 0), (g, b"GG", 1), (f, b"BBBBBB", 2), (f, b"CC", 16),
                      (g, b"HHHH", 4), (f, b"DDDD", 10)]:
    os.pwrite(fd, data, off)
os.access("cut", 0)
print("survived")
"#;

/// The writes of [`WRITER`], in order.
const WRITES: [(&str, usize, &str); 6] = [
    ("f", 0, "AAAA"),
    ("g", 1, "GG"),
    ("f", 2, "BBBBBB"),
    ("f", 16, "CC"),
    ("g", 4, "HHHH"),
    ("f", 10, "DDDD"),
];

/// (f, g) after the writes `keep` keeps, made in order on the synced files.
fn state_keeping(keep: impl Fn(usize) -> bool) -> (String, String) {
    let mut files = [b"0000000000000000".to_vec(), b"gggg".to_vec()];
    for (_, (name, off, data)) in WRITES.iter().enumerate().filter(|(i, _)| keep(*i)) {
        let d = &mut files[usize::from(*name == "g")];
        if d.len() < off + data.len() {
            d.resize(off + data.len(), 0);
        }
        d[*off..off + data.len()].copy_from_slice(data.as_bytes());
    }
    let [f, g] = files.map(|b| String::from_utf8(b).unwrap());
    (f, g)
}

/// Runs [`WRITER`] in a fresh `dir` with the cut `cut` and `seed`; the files it left.
fn cut_with(dir: &Path, cut: &str, seed: u64) -> (String, String) {
    std::fs::write(dir.join("f"), "0000000000000000").unwrap();
    std::fs::write(dir.join("g"), "gggg").unwrap();
    let rule = format!("sys:access[path=cut]={cut}");
    let done: Done = Run::new(dir, &rule, "python3", &["-c", WRITER])
        .env("FAILINJECT_SEED", seed.to_string())
        .bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{cut} seed {seed}: not cut: {done:?}");
    let read = |n: &str| String::from_utf8(std::fs::read(dir.join(n)).unwrap()).unwrap();
    (read("f"), read("g"))
}

#[test]
fn a_prefix_cut_keeps_the_writes_up_to_one_in_the_order_they_were_made() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-prefix");
    let prefixes: Vec<_> = (0..=WRITES.len()).map(|k| state_keeping(|i| i < k)).collect();
    let mut seen = BTreeSet::new();
    for seed in 1..=16 {
        let state = cut_with(dir.path(), "powercut(prefix)", seed);
        let k = prefixes.iter().position(|p| *p == state);
        let Some(k) = k else { panic!("seed {seed}: {state:?} is no prefix of the writes") };
        seen.insert(k);
        assert_eq!(cut_with(dir.path(), "powercut(prefix)", seed), state, "seed {seed} again");
    }
    assert!(seen.len() >= 4, "16 seeds kept only the prefixes {seen:?}");
}

#[test]
fn an_any_cut_keeps_a_subset_that_is_not_always_a_prefix() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-any");
    let subsets: Vec<_> =
        (0..1u32 << WRITES.len()).map(|m| (m, state_keeping(|i| m & (1 << i) != 0))).collect();
    let mut out_of_order = 0;
    for seed in 1..=16 {
        let state = cut_with(dir.path(), "powercut(any)", seed);
        let Some((m, _)) = subsets.iter().find(|(_, s)| *s == state) else {
            panic!("seed {seed}: {state:?} keeps no subset of the writes")
        };
        // Not a prefix: a kept write after a lost one.
        out_of_order += usize::from((m + 1) & m != 0);
    }
    assert!(out_of_order >= 4, "only {out_of_order} of 16 seeds kept writes out of order");
    assert_eq!(cut_with(dir.path(), "powercut", 1), state_keeping(|_| false), "`all` keeps none");
}

#[test]
fn a_torn_cut_keeps_whole_sectors_of_one_long_write() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-torn");
    let program = r#"
import os
fd = os.open("big", os.O_RDWR)
os.pwrite(fd, b"n" * 65536, 0)
os.access("cut", 0)
"#;
    let mut torn = 0;
    for seed in 1..=8 {
        std::fs::write(dir.join("big"), vec![b'o'; 65536]).unwrap();
        let rule = "sys:access[path=cut]=powercut(torn,sector=4096)";
        let done = Run::new(dir.path(), rule, "python3", &["-c", program])
            .env("FAILINJECT_SEED", seed.to_string())
            .bounded(LIMIT);
        assert_eq!(done.signal, Some(9), "{done:?}");
        let big = std::fs::read(dir.join("big")).unwrap();
        assert_eq!(big.len(), 65536);
        let sectors: Vec<u8> = big
            .chunks(4096)
            .map(|s| {
                assert!(s.iter().all(|b| *b == s[0]), "seed {seed}: a sector is torn inside");
                s[0]
            })
            .collect();
        torn += usize::from(sectors.contains(&b'o') && sectors.contains(&b'n'));
    }
    assert!(torn >= 2, "only {torn} of 8 seeds tore the write");
}

// ---- sqlite3 ----------------------------------------------------------------------------

/// `sqlite3 db sql` without the preload: (whether it succeeded, stdout and stderr).
fn sqlite(dir: &Path, sql: &str) -> (bool, String) {
    let out = Command::new("sqlite3")
        .arg("t.db")
        .arg(sql)
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .output()
        .expect("run sqlite3");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// 2,000 rows with an index, synced; then, under the preload with `cut`, every row updated in
/// place (which moves every index entry) with the journal and syncs off, and the power cut
/// when the shell opens `cut.db`. Whether the database is intact afterwards, and the check.
fn sqlite_unjournaled_update(dir: &Path, cut: &str, seed: u64) -> (bool, String) {
    let _ = std::fs::remove_file(dir.join("t.db"));
    let setup = "create table t(k integer primary key, v integer, pad text); \
                 create index iv on t(v); \
                 with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000) \
                 insert into t select i, i, hex(randomblob(40)) from n;";
    assert!(sqlite(dir, setup).0);
    let sql = "pragma journal_mode=off; pragma synchronous=off; \
               update t set v = -v; attach 'cut.db' as c;";
    let rule = format!("sys:open64[path=*/cut.db]={cut}");
    let done = Run::new(dir, &rule, "sqlite3", &["t.db", sql])
        .env("FAILINJECT_SEED", seed.to_string())
        .bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{cut}: not cut: {done:?}");
    let (ok, check) = sqlite(dir, "pragma integrity_check; select count(*) from t;");
    (ok && check.starts_with("ok\n2000\n"), check)
}

#[test]
fn sqlite_without_a_journal_is_intact_after_an_all_cut_and_corrupted_by_an_any_cut() {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    let dir = TempDir::new("crash-sqlite-modes");
    for seed in 1..=3 {
        let (intact, check) = sqlite_unjournaled_update(dir.path(), "powercut", seed);
        assert!(intact, "`all` restores the old, consistent file: {check}");
    }
    for mode in ["any", "torn"] {
        let corrupted = (1..=4)
            .filter(|seed| {
                !sqlite_unjournaled_update(dir.path(), &format!("powercut({mode})"), *seed).0
            })
            .count();
        assert!(corrupted >= 2, "only {corrupted} `{mode}` cuts of 4 corrupted the update");
    }
}

/// SQLite in WAL mode with `synchronous=full`: a power cut at any of its writes, in every mode
/// that keeps changes, for 20 seeds, leaves an intact database holding every transaction
/// whose commit returned, and at most the one under way besides.
#[test]
fn sqlite_in_wal_mode_with_full_sync_stays_intact_in_every_mode() {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    assert!(have("stdbuf"), "stdbuf is needed: apt-get install -y coreutils");
    let dir = TempDir::new("crash-sqlite-wal");
    let mut sql = String::from("pragma synchronous=full;");
    for i in 1..=12 {
        sql.push_str(&format!(
            "insert into t values({i}, hex(randomblob(2500))); select 'committed ' || {i};"
        ));
    }
    let mut cuts = 0;
    for mode in ["prefix", "any", "torn"] {
        for seed in 1..=20u64 {
            for f in ["t.db", "t.db-wal", "t.db-shm"] {
                let _ = std::fs::remove_file(dir.join(f));
            }
            let setup = "pragma journal_mode=wal; create table t(k integer primary key, v text);";
            assert!(sqlite(dir.path(), setup).0);
            // Each seed cuts at another write to the log.
            let rule =
                format!("sys:pwrite[path=*/t.db-wal,when={}]=powercut({mode})", 3 + seed % 9);
            cuts += usize::from(committed_rows_survive(dir.path(), &rule, seed, &sql));
        }
    }
    assert!(cuts >= 50, "only {cuts} of 60 runs met their power cut");
}

/// Runs `sql` (inserts of key N, each followed by `select 'committed N'`) with the sqlite3
/// shell on `t.db` in `dir`, unbuffered, under `rule` with `seed`; then checks that the
/// database is intact and that its rows are a prefix of the inserts holding every commit
/// that returned, and at most the one under way besides. Whether the run met its power cut.
fn committed_rows_survive(dir: &Path, rule: &str, seed: u64, sql: &str) -> bool {
    let done = Run::new(dir, rule, "stdbuf", &["-o0", "sqlite3", "t.db", sql])
        .env("FAILINJECT_SEED", seed.to_string())
        .bounded(LIMIT);
    let committed = done.stdout.lines().filter(|l| l.starts_with("committed")).count();
    let (ok, check) =
        sqlite(dir, "pragma integrity_check; select count(*), coalesce(max(k), 0) from t;");
    assert!(ok && check.starts_with("ok\n"), "{rule} seed {seed}: {check}");
    let (count, max) = check.lines().nth(1).and_then(|l| l.split_once('|')).expect("count|max");
    let (count, max): (usize, usize) = (count.parse().unwrap(), max.parse().unwrap());
    assert_eq!(count, max, "{rule} seed {seed}: the rows are not a prefix: {check}");
    assert!(
        max >= committed && max <= committed + 1,
        "{rule} seed {seed}: {committed} commits returned, {max} rows survived"
    );
    done.signal == Some(9)
}

#[test]
fn sqlite_with_its_rollback_journal_survives_torn_cuts_at_its_writes() {
    assert!(have("sqlite3"), "sqlite3 is needed: apt-get install -y sqlite3 (.ci/run installs it)");
    assert!(have("stdbuf"), "stdbuf is needed: apt-get install -y coreutils");
    let dir = TempDir::new("crash-sqlite-torn");
    let mut sql = String::new();
    for i in 1..=20 {
        sql.push_str(&format!(
            "insert into t values({i}, hex(randomblob(3000))); select 'committed ' || {i};"
        ));
    }
    let mut cuts = 0;
    for (rule, seed) in [
        ("sys:pwrite[path=*/t.db,when=9]=powercut(torn)", 1),
        ("sys:pwrite[path=*/t.db,when=12]=powercut(torn)", 2),
        ("sys:pwrite[path=*/t.db-journal,when=5]=powercut(any)", 3),
        ("sys:fdatasync[path=*/t.db,when=4]=powercut(torn,sector=4096)", 4),
        ("sys:pwrite[path=*/t.db,when=20]=powercut(prefix)", 5),
    ] {
        for f in ["t.db", "t.db-journal"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        assert!(sqlite(dir.path(), "create table t(k integer primary key, v text);").0);
        cuts += usize::from(committed_rows_survive(dir.path(), rule, seed, &sql));
    }
    assert!(cuts >= 4, "only {cuts} of 5 runs met their power cut");
}

// ---- lose(E,clean) and lose(E,revert) -----------------------------------------------------

/// A python3 program: `f` holds a synced `old!`; it writes `NEW!`, its fsync fails by the
/// rule, it reads the bytes back, (with `again`) writes them again, fsyncs again, then cuts
/// the power at `access("cut")`.
fn fsync_failure(dir: &Path, rule: &str, again: bool) -> (Done, String) {
    std::fs::write(dir.join("f"), "old!").unwrap();
    let program = format!(
        r#"
import os
fd = os.open("f", os.O_RDWR)
os.pwrite(fd, b"NEW!", 0)
try:
    os.fsync(fd); print("fsync ok")
except OSError as e:
    print("fsync", e.errno)
print("read", os.pread(fd, 4, 0).decode())
if {again}:
    os.pwrite(fd, b"NEW!", 0)
os.fsync(fd); print("retry ok")
os.access("cut", 0)
"#,
        again = if again { "True" } else { "False" }
    );
    let rules = format!("{rule}; sys:access[path=*cut]=powercut");
    let done = Run::new(dir, &rules, "python3", &["-c", &program]).bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{rule}: {done:?}");
    let f = std::fs::read_to_string(dir.join("f")).unwrap();
    (done, f)
}

#[test]
fn a_clean_fsync_failure_keeps_the_bytes_readable_and_the_power_cut_loses_them() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-lose-clean");
    let rule = "sys:fsync[path=*/f]=1*lose(EIO,clean)";
    let (done, f) = fsync_failure(dir.path(), rule, false);
    assert_eq!(done.stdout, "fsync 5\nread NEW!\nretry ok\n", "{done:?}");
    assert_eq!(f, "old!", "the retried fsync wrote nothing: the cut loses the bytes");
    // Written again after the failure, the page is dirty again: the retried fsync writes it.
    let (done, f) = fsync_failure(dir.path(), rule, true);
    assert_eq!(done.stdout, "fsync 5\nread NEW!\nretry ok\n", "{done:?}");
    assert_eq!(f, "NEW!", "a page written after the failure is durable after the retry");
}

#[test]
fn a_revert_fsync_failure_drops_the_bytes_at_once() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-lose-revert");
    let (done, f) = fsync_failure(dir.path(), "sys:fsync[path=*/f]=1*lose(EIO,revert)", false);
    assert_eq!(done.stdout, "fsync 5\nread old!\nretry ok\n", "{done:?}");
    assert_eq!(f, "old!");
}

// ---- LMDB, through write() and through a shared mapping (MDB_WRITEMAP) ---------------------

/// Debian's python (`/usr/bin/python3`) with `python3-lmdb`.
const LMDB_PYTHON: &str = "/usr/bin/python3";

fn have_lmdb() -> bool {
    Command::new(LMDB_PYTHON).args(["-c", "import lmdb"]).output().is_ok_and(|o| o.status.success())
}

/// An LMDB environment with 10 keys, synced, made without the preload; then, under `rule`,
/// 30 more transactions of one key each (`mode`: `write` or `writemap`, and `nosync` for
/// MDB_NOSYNC), each printing `committed N` (N counting from 11); then reads back, without the
/// preload, how many keys survived. (the run, keys).
fn lmdb_run(dir: &Path, mode: &str, nosync: bool, rule: &str) -> (Done, usize) {
    let _ = std::fs::remove_dir_all(dir.join("db"));
    let program = r#"
import lmdb, os, sys
env = lmdb.open("db", map_size=1 << 24, writemap=sys.argv[1] == "writemap",
                sync=sys.argv[2] != "nosync", metasync=sys.argv[2] != "nosync")
first, last = int(sys.argv[3]), int(sys.argv[4])
for i in range(first, last):
    with env.begin(write=True) as t:
        t.put(b"k%05d" % i, b"v" * 700)
    print("committed", i + 1, flush=True)
if last == 40:
    os.access("cut", 0)
"#;
    let setup = Command::new(LMDB_PYTHON)
        .args(["-c", program, mode, "sync", "0", "10"])
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .output()
        .unwrap();
    assert!(setup.status.success(), "{setup:?}");
    let sync = if nosync { "nosync" } else { "sync" };
    let rules = format!("{rule}; sys:access[path=*cut]=powercut");
    let args = ["-c", program, mode, sync, "10", "40"];
    let done = Run::new(dir, &rules, LMDB_PYTHON, &args).bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{mode} {rule}: not cut: {done:?}");
    let count = Command::new(LMDB_PYTHON)
        .args(["-c", "import lmdb; e = lmdb.open('db'); print(e.stat()['entries'])"])
        .current_dir(dir)
        .env_remove("LD_PRELOAD")
        .output()
        .unwrap();
    assert!(count.status.success(), "{mode}: the environment does not open: {count:?}");
    (done, String::from_utf8_lossy(&count.stdout).trim().parse().unwrap())
}

#[test]
fn lmdb_keeps_every_committed_transaction_through_power_cuts_in_both_write_modes() {
    assert!(
        have_lmdb(),
        "python3-lmdb is needed: apt-get install -y python3-lmdb (.ci/run installs it)"
    );
    let dir = TempDir::new("crash-lmdb");
    for (mode, rule) in [
        ("write", "sys:fdatasync[path=*/data.mdb,when=21]=powercut(torn)"),
        ("write", "sys:pwrite[path=*/data.mdb,when=30]=powercut(any)"),
        ("writemap", "sys:msync[path=*/data.mdb,when=25]=powercut"),
        ("writemap", "sys:msync[path=*/data.mdb,when=26]=powercut"),
    ] {
        let (done, keys) = lmdb_run(dir.path(), mode, false, rule);
        let committed = 10 + done.stdout.lines().filter(|l| l.starts_with("committed")).count();
        assert!(committed < 40, "{mode} {rule}: the cut came after the last commit: {done:?}");
        assert!(
            keys == committed || keys == committed + 1,
            "{mode} {rule}: {committed} commits returned, {keys} keys survived"
        );
    }
    // With no cut inside, every commit survives the cut at the end.
    for mode in ["write", "writemap"] {
        let (_, keys) = lmdb_run(dir.path(), mode, false, "sys:fsync[path=/never]=powercut");
        assert_eq!(keys, 40, "{mode}: a commit was lost");
    }
}

#[test]
fn lmdb_with_mdb_nosync_loses_committed_transactions_at_a_power_cut() {
    assert!(
        have_lmdb(),
        "python3-lmdb is needed: apt-get install -y python3-lmdb (.ci/run installs it)"
    );
    let dir = TempDir::new("crash-lmdb-nosync");
    for mode in ["write", "writemap"] {
        let (done, keys) = lmdb_run(dir.path(), mode, true, "sys:fsync[path=/never]=powercut");
        assert!(done.stdout.contains("committed 40"), "{done:?}");
        assert_eq!(keys, 10, "{mode}: MDB_NOSYNC synced none of its 30 commits, yet kept some");
    }
}

/// The crash model caches a descriptor's flags (`O_APPEND`): `fcntl(F_SETFL)` must drop them,
/// or an overwrite through a descriptor that no longer appends would be taken for an append
/// and survive the power cut.
#[test]
fn an_overwrite_after_f_setfl_drops_o_append_is_rolled_back() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-setfl");
    std::fs::write(dir.join("f"), "synced\n").unwrap();
    let program = r#"
import fcntl, os
fd = os.open("f", os.O_RDWR | os.O_APPEND)
os.write(fd, b"appended\n")
fcntl.fcntl(fd, fcntl.F_SETFL, 0)
os.lseek(fd, 0, os.SEEK_SET)
os.write(fd, b"ZZ")
os.access("cut", 0)
"#;
    let done = Run::new(dir.path(), "sys:access[path=*cut]=powercut", "python3", &["-c", program])
        .bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{done:?}");
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "synced\n");
}

/// fio's `mmap` engine writes through a shared mapping and syncs every 64 writes: a power cut
/// when it closes the file keeps exactly what the syncs made durable (192 of 256 blocks) and
/// rolls the rest back, stores that pass no libc function.
#[test]
fn fio_mmap_writes_survive_up_to_its_last_sync() {
    assert!(have("fio"), "fio is needed: apt-get install -y fio (.ci/run installs it)");
    let dir = TempDir::new("crash-fio-mmap");
    std::fs::write(dir.join("ff"), vec![b'o'; 1 << 20]).unwrap();
    let args = [
        "--name=m",
        "--ioengine=mmap",
        "--rw=write",
        "--bs=4k",
        "--size=1M",
        "--filename=ff",
        "--buffer_pattern=0x41",
        "--fsync=64",
        "--minimal",
    ];
    let done = Run::new(dir.path(), "sys:close[path=*/ff]=powercut", "fio", &args).bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{done:?}");
    let f = std::fs::read(dir.join("ff")).unwrap();
    assert_eq!(f.len(), 1 << 20);
    assert!(f[..192 * 4096].iter().all(|b| *b == b'A'), "a synced block was lost");
    assert!(f[192 * 4096..].iter().all(|b| *b == b'o'), "an unsynced block survived");
}

// ---- writes through shared mappings: only the pages written are read again ----------------

/// A python3 program on `m`, a 64 MiB file whose bytes are synced: it maps it shared, makes
/// 20 "commits" of one page each, each `msync`ed (`mmap.flush`), and prints the most bytes
/// the process read (`rchar` of `/proc/self/io`) during one `msync`; then it stores to one
/// more page without a sync and meets the power cut.
const COMMITS: &str = r#"
import mmap, os
def rchar():
    return int(next(l for l in open("/proc/self/io") if l.startswith("rchar")).split()[1])
fd = os.open("m", os.O_RDWR)
m = mmap.mmap(fd, 64 << 20, mmap.MAP_SHARED)
most = 0
for k in range(20):
    m[k * 409600 : k * 409600 + 6] = b"commit"
    before = rchar()
    m.flush()
    most = max(most, rchar() - before)
print(most, flush=True)
m[4096 * 7 : 4096 * 7 + 4] = b"lost"
os.access("cut", 0)
"#;

/// LMDB with `MDB_WRITEMAP` syncs its whole map at every commit of a page or two: the crash
/// model reads again only the pages written since the last sync (the kernel's write-protect
/// bits), not the map (`bench/lmdb/run.sh` measures it). Without that, each `msync` here
/// would read 64 MiB.
#[test]
fn an_msync_reads_again_only_the_pages_written_since_the_last_one() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-map-pages");
    std::fs::write(dir.join("m"), vec![b'0'; 64 << 20]).unwrap();
    let done = Run::new(dir.path(), "sys:access[path=*cut]=powercut", "python3", &["-c", COMMITS])
        .bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{done:?}");
    let most: u64 = done.stdout.trim().parse().unwrap_or_else(|_| panic!("{done:?}"));
    // A page or two read again, and /proc's own small reads; a whole-map refresh is 64 MiB.
    assert!(most < 64 << 10, "one msync read {most} bytes: the whole map, not its page");
    let m = std::fs::read(dir.join("m")).unwrap();
    for k in 0..20 {
        assert_eq!(&m[k * 409600..k * 409600 + 6], b"commit", "commit {k} was synced");
    }
    assert_eq!(&m[4096 * 7..4096 * 7 + 4], b"0000", "the store after the last sync is lost");
}

/// A child forked after the mapping was made stores to the same pages through its copy of
/// the mapping, which no write-protect bit of the parent's sees: the parent's `msync` must
/// make that store durable all the same.
#[test]
fn a_store_by_a_forked_child_is_made_durable_by_the_parents_msync() {
    assert!(have("python3"), "python3 is needed: apt-get install -y python3");
    let dir = TempDir::new("crash-map-fork");
    std::fs::write(dir.join("m"), vec![b'0'; 1 << 20]).unwrap();
    let program = r#"
import mmap, os
fd = os.open("m", os.O_RDWR)
m = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED)
m[0:6] = b"parent"
m.flush()
pid = os.fork()
if pid == 0:
    m[4096 * 3 : 4096 * 3 + 5] = b"child"
    os._exit(0)
os.waitpid(pid, 0)
m.flush()
m[4096 * 5 : 4096 * 5 + 4] = b"late"
os.access("cut", 0)
"#;
    let done = Run::new(dir.path(), "sys:access[path=*cut]=powercut", "python3", &["-c", program])
        .bounded(LIMIT);
    assert_eq!(done.signal, Some(9), "{done:?}");
    let m = std::fs::read(dir.join("m")).unwrap();
    assert_eq!(&m[..6], b"parent");
    assert_eq!(&m[4096 * 3..4096 * 3 + 5], b"child", "the child's store was synced by the parent");
    assert_eq!(&m[4096 * 5..4096 * 5 + 4], b"0000", "the store after the last sync is lost");
}
