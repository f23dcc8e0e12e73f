//! The model against a file system in memory: no preload, no system call.

use super::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;

/// A file system in memory: inodes, names, and the handles the store holds.
#[derive(Default)]
struct MemDisk {
    data: RefCell<HashMap<u64, (Vec<u8>, bool)>>,
    names: RefCell<HashMap<Vec<u8>, u64>>,
    handles: RefCell<HashMap<i32, u64>>,
    next: RefCell<i32>,
    /// Pages written through a mapping and not yet told (file offsets), when the disk tells
    /// them ([`Disk::written`]); `None`: it cannot tell.
    pages: RefCell<Option<Vec<u64>>>,
    /// Bytes read from files so far.
    read: RefCell<u64>,
}

impl MemDisk {
    fn with_dirs(dirs: &[&str]) -> MemDisk {
        let d = MemDisk::default();
        for dir in dirs {
            d.add(dir, b"", true);
        }
        d
    }

    fn add(&self, path: &str, content: &[u8], dir: bool) -> u64 {
        let ino = self.data.borrow().len() as u64 + 100;
        self.data.borrow_mut().insert(ino, (content.to_vec(), dir));
        self.names.borrow_mut().insert(path.as_bytes().to_vec(), ino);
        ino
    }

    fn stat(&self, path: &str) -> Stat {
        self.stat_path(&std::ffi::CString::new(path).unwrap()).unwrap()
    }

    fn content(&self, path: &str) -> Option<Vec<u8>> {
        let ino = *self.names.borrow().get(path.as_bytes())?;
        Some(self.data.borrow()[&ino].0.clone())
    }

    fn open(&self, path: &str) -> Option<Handle> {
        let ino = *self.names.borrow().get(path.as_bytes())?;
        let mut next = self.next.borrow_mut();
        *next += 1;
        self.handles.borrow_mut().insert(*next, ino);
        Some(Handle(*next))
    }

    /// What the program does: changes bytes of `path` directly.
    fn program_write(&self, path: &str, off: usize, bytes: &[u8]) {
        let ino = self.names.borrow()[path.as_bytes()];
        let mut data = self.data.borrow_mut();
        let d = &mut data.get_mut(&ino).unwrap().0;
        if d.len() < off + bytes.len() {
            d.resize(off + bytes.len(), 0);
        }
        d[off..off + bytes.len()].copy_from_slice(bytes);
    }

    /// A store through a shared mapping of `path`: the bytes change, and their pages count as
    /// written for [`Disk::written`].
    fn map_write(&self, path: &str, off: usize, bytes: &[u8]) {
        self.program_write(path, off, bytes);
        if let Some(pages) = self.pages.borrow_mut().as_mut() {
            let first = off as u64 / 4096;
            pages.extend((first..=(off + bytes.len() - 1) as u64 / 4096).map(|p| p * 4096));
        }
    }

    fn ino_of(&self, h: Handle) -> u64 {
        self.handles.borrow()[&h.0]
    }
}

impl Disk for MemDisk {
    fn read_at(&self, h: Handle, buf: &mut [u8], off: u64) -> usize {
        let data = self.data.borrow();
        let d = &data[&self.ino_of(h)].0;
        let off = (off as usize).min(d.len());
        let n = buf.len().min(d.len() - off);
        buf[..n].copy_from_slice(&d[off..off + n]);
        *self.read.borrow_mut() += n as u64;
        n
    }
    fn write_at(&self, h: Handle, bytes: &[u8], off: u64) -> bool {
        let ino = self.ino_of(h);
        let mut data = self.data.borrow_mut();
        let d = &mut data.get_mut(&ino).unwrap().0;
        let off = off as usize;
        if d.len() < off + bytes.len() {
            d.resize(off + bytes.len(), 0);
        }
        d[off..off + bytes.len()].copy_from_slice(bytes);
        true
    }
    fn size(&self, h: Handle) -> Option<u64> {
        Some(self.data.borrow()[&self.ino_of(h)].0.len() as u64)
    }
    fn truncate(&self, h: Handle, len: u64) -> bool {
        let ino = self.ino_of(h);
        self.data.borrow_mut().get_mut(&ino).unwrap().0.resize(len as usize, 0);
        true
    }
    fn release(&self, h: Handle) {
        assert!(self.handles.borrow_mut().remove(&h.0).is_some(), "released twice");
    }
    fn stat_path(&self, path: &CStr) -> Option<Stat> {
        let ino = *self.names.borrow().get(path.to_bytes())?;
        let (d, dir) = &self.data.borrow()[&ino];
        Some(Stat {
            dev: 1,
            ino,
            size: d.len() as u64,
            kind: if *dir { Kind::Dir } else { Kind::Regular },
        })
    }
    fn remove(&self, path: &CStr, _dir: bool) -> bool {
        self.names.borrow_mut().remove(path.to_bytes()).is_some()
    }
    fn rename(&self, from: &CStr, to: &CStr) -> bool {
        let Some(ino) = self.names.borrow_mut().remove(from.to_bytes()) else { return false };
        self.names.borrow_mut().insert(to.to_bytes().to_vec(), ino);
        true
    }
    fn make_dir(&self, path: &CStr) -> bool {
        self.add(path.to_str().unwrap(), b"", true);
        true
    }
    fn write_back(&self, from: Handle, path: &CStr) -> bool {
        let content = self.data.borrow()[&self.ino_of(from)].0.clone();
        self.add(path.to_str().unwrap(), &content, false);
        true
    }
    fn written(
        &self,
        _file: &Stat,
        _h: Handle,
        owner: u32,
        _map: (u64, u64),
        (from, to): (u64, u64),
        each: &mut dyn FnMut(u64, u64),
    ) -> bool {
        if owner == 0 {
            return false;
        }
        assert_eq!(owner, OWNER, "asked about the mapping of the process that made it");
        let mut pages = self.pages.borrow_mut();
        let Some(pages) = pages.as_mut() else { return false };
        pages.retain(|&p| {
            let inside = p + 4096 > from && p < to;
            if inside {
                each(p.max(from), (p + 4096).min(to) - p.max(from));
            }
            !inside
        });
        true
    }
}

/// The process that maps files in these tests.
const OWNER: u32 = 42;

/// A store with an arena of `size` bytes (leaked: the store borrows it for the test).
/// The store is over a megabyte, made on the stack before it is boxed in a debug build:
/// each test runs on a thread with a stack that fits it ([`roomy`]).
fn store(size: usize) -> Box<Store<'static>> {
    let mut s = Box::new(Store::new());
    s.give_arena(Vec::leak(vec![0u8; size]));
    s
}

/// Runs a test body on a thread with a 64 MiB stack.
fn roomy(body: fn()) {
    std::thread::Builder::new().stack_size(64 << 20).spawn(body).unwrap().join().unwrap();
}

/// The program writes `bytes` at `off` of `path`, as the preload sees it: the store first.
fn write(s: &mut Store<'_>, disk: &MemDisk, path: &str, off: u64, bytes: &[u8]) {
    let st = disk.stat(path);
    s.before_write(disk, &st, || disk.open(path), off, bytes.len() as u64).unwrap();
    disk.program_write(path, off as usize, bytes);
}

#[test]
fn a_power_cut_restores_overwrites_and_appends() {
    roomy(a_power_cut_restores_overwrites_and_appends_body);
}

fn a_power_cut_restores_overwrites_and_appends_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"0123456789", false);
    let mut s = store(1 << 16);
    write(&mut s, &disk, "/d/f", 2, b"ab");
    write(&mut s, &disk, "/d/f", 3, b"XYZ");
    write(&mut s, &disk, "/d/f", 10, b"appended");
    assert_eq!(disk.content("/d/f").unwrap(), b"01aXYZ6789appended");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    assert_eq!(disk.content("/d/f").unwrap(), b"0123456789");
}

#[test]
fn a_sync_makes_changes_durable_and_frees_the_handle() {
    roomy(a_sync_makes_changes_durable_and_frees_the_handle_body);
}

fn a_sync_makes_changes_durable_and_frees_the_handle_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"aaaa", false);
    let mut s = store(1 << 16);
    write(&mut s, &disk, "/d/f", 0, b"bb");
    let st = disk.stat("/d/f");
    assert!(s.tracks(&st));
    s.synced(&disk, &st).unwrap();
    assert!(!s.tracks(&st));
    assert!(disk.handles.borrow().is_empty(), "the store's handle was not released");
    write(&mut s, &disk, "/d/f", 2, b"cc");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    assert_eq!(disk.content("/d/f").unwrap(), b"bbaa");
}

#[test]
fn a_created_file_comes_back_empty_and_truncation_is_undone() {
    roomy(a_created_file_comes_back_empty_and_truncation_is_undone_body);
}

fn a_created_file_comes_back_empty_and_truncation_is_undone_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/new", b"", false);
    disk.add("/d/old", b"keep me", false);
    let mut s = store(1 << 16);
    s.created(&disk, &disk.stat("/d/new"), || disk.open("/d/new")).unwrap();
    disk.program_write("/d/new", 0, b"fresh");
    let st = disk.stat("/d/old");
    s.before_cut(&disk, &st, || disk.open("/d/old"), 2).unwrap();
    disk.data.borrow_mut().get_mut(&st.ino).unwrap().0.truncate(2);
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    assert_eq!(disk.content("/d/new").unwrap(), b"");
    assert_eq!(disk.content("/d/old").unwrap(), b"keep me");
}

#[test]
fn unseen_writes_save_the_whole_file_once() {
    roomy(unseen_writes_save_the_whole_file_once_body);
}

fn unseen_writes_save_the_whole_file_once_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"hello", false);
    let mut s = store(1 << 16);
    let st = disk.stat("/d/f");
    s.before_unseen(&disk, &st, || disk.open("/d/f"), false).unwrap();
    s.before_unseen(&disk, &st, || disk.open("/d/f"), false).unwrap();
    assert_eq!(s.changes().count(), 1, "saved once per sync");
    disk.program_write("/d/f", 0, b"HELLO, world");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    assert_eq!(disk.content("/d/f").unwrap(), b"hello");
}

#[test]
fn a_synced_range_keeps_the_rest_pending() {
    roomy(a_synced_range_keeps_the_rest_pending_body);
}

fn a_synced_range_keeps_the_rest_pending_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", &[b'0'; 3 * 4096], false);
    let mut s = store(1 << 16);
    write(&mut s, &disk, "/d/f", 0, b"AA");
    // Straddles the end of page 0: its first half is written with the page.
    write(&mut s, &disk, "/d/f", 4090, b"SSSSSSSSSSSS");
    write(&mut s, &disk, "/d/f", 8192, b"BB");
    // Bytes 0..4 ask for page 0, whole.
    s.synced_range(&disk, &disk.stat("/d/f"), 0, 4);
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    let f = disk.content("/d/f").unwrap();
    assert_eq!(&f[..2], b"AA");
    assert_eq!(&f[4090..4102], b"SSSSSS000000", "the part in page 0 is durable, the rest not");
    assert_eq!(&f[8192..8194], b"00", "page 2 was not synced");
}

#[test]
fn lose_rolls_back_one_file_and_counts_it_synced() {
    roomy(lose_rolls_back_one_file_and_counts_it_synced_body);
}

fn lose_rolls_back_one_file_and_counts_it_synced_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/a", b"aaaa", false);
    disk.add("/d/b", b"bbbb", false);
    let mut s = store(1 << 16);
    write(&mut s, &disk, "/d/a", 0, b"AA");
    write(&mut s, &disk, "/d/b", 0, b"BB");
    assert!(s.lose(&disk, &disk.stat("/d/a"), false));
    assert_eq!(disk.content("/d/a").unwrap(), b"aaaa");
    assert_eq!(disk.content("/d/b").unwrap(), b"BBbb", "another file is untouched");
    assert!(!s.tracks(&disk.stat("/d/a")));
    assert!(s.lose(&disk, &disk.stat("/d/b"), true), "syncfs: the whole device");
    assert_eq!(disk.content("/d/b").unwrap(), b"bbbb");
}

#[test]
fn changes_are_listed_in_the_order_they_were_made() {
    roomy(changes_are_listed_in_the_order_they_were_made_body);
}

fn changes_are_listed_in_the_order_they_were_made_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/a", b"aaaa", false);
    disk.add("/d/b", b"bbbb", false);
    let mut s = store(1 << 16);
    write(&mut s, &disk, "/d/a", 0, b"1");
    write(&mut s, &disk, "/d/b", 1, b"2");
    s.journal(&disk, Op::Created, b"/d/c", None, None).unwrap();
    write(&mut s, &disk, "/d/a", 2, b"3");
    let mut seen: Vec<_> = s.changes().collect();
    seen.sort_by_key(Change::seq);
    let seqs: Vec<u64> = seen.iter().map(Change::seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert!(matches!(seen[0], Change::Overwrite { off: 0, old: b"a", .. }));
    assert!(matches!(seen[1], Change::Overwrite { off: 1, old: b"b", .. }));
    assert!(matches!(seen[2], Change::Entry { op: Op::Created, path: b"/d/c", to: None, .. }));
    assert!(matches!(seen[3], Change::Overwrite { off: 2, old: b"a", .. }));
    assert_eq!(s.seq(), 4);
}

#[test]
fn the_journal_undoes_unsynced_directory_changes_newest_first() {
    roomy(the_journal_undoes_unsynced_directory_changes_newest_first_body);
}

fn the_journal_undoes_unsynced_directory_changes_newest_first_body() {
    let disk = MemDisk::with_dirs(&["/d", "/e"]);
    disk.add("/d/tmp", b"new", false);
    disk.add("/d/target", b"old", false);
    disk.add("/e/gone", b"removed", false);
    let mut s = store(1 << 16);
    // Remove /e/gone, then write tmp and rename it over target (keeping the replaced file).
    let held = disk.open("/e/gone");
    disk.remove(c"/e/gone", false);
    s.journal(&disk, Op::Removed { dir: false }, b"/e/gone", None, held).unwrap();
    let held = disk.open("/d/target");
    disk.rename(c"/d/tmp", c"/d/target");
    s.journal(&disk, Op::Renamed, b"/d/tmp", Some(b"/d/target"), held).unwrap();
    // Syncing /e makes the removal durable; the rename, made after it, still waits for /d.
    s.synced(&disk, &disk.stat("/e")).unwrap();
    assert_eq!(s.changes().count(), 1);
    assert!(s.power_cut(&disk, &Cut { dirs: true, ..Cut::ALL }, 0));
    assert_eq!(disk.content("/d/tmp").unwrap(), b"new");
    assert_eq!(disk.content("/d/target").unwrap(), b"old");
    assert_eq!(disk.content("/e/gone"), None, "a durable removal stays");
}

#[test]
fn a_directory_sync_commits_the_entries_made_before_in_order() {
    roomy(a_directory_sync_commits_the_entries_made_before_body);
}

fn a_directory_sync_commits_the_entries_made_before_body() {
    let disk = MemDisk::with_dirs(&["/d", "/e"]);
    disk.add("/d/tmp", b"new", false);
    disk.add("/e/gone", b"removed", false);
    let mut s = store(1 << 16);
    // A rename in /d, then a removal in /e: syncing /e commits the journal up to the removal,
    // the older rename with it, as a journaling file system does.
    disk.rename(c"/d/tmp", c"/d/target");
    s.journal(&disk, Op::Renamed, b"/d/tmp", Some(b"/d/target"), None).unwrap();
    let held = disk.open("/e/gone");
    disk.remove(c"/e/gone", false);
    s.journal(&disk, Op::Removed { dir: false }, b"/e/gone", None, held).unwrap();
    s.synced(&disk, &disk.stat("/e")).unwrap();
    assert_eq!(s.changes().count(), 0, "both durable");
    assert!(s.power_cut(&disk, &Cut { dirs: true, ..Cut::ALL }, 0));
    assert_eq!(disk.content("/d/target").unwrap(), b"new");
    assert_eq!(disk.content("/e/gone"), None);
}

#[test]
fn a_full_arena_or_table_is_reported_and_the_rollback_is_incomplete() {
    roomy(a_full_arena_or_table_is_reported_and_the_rollback_is_incomplete_body);
}

fn a_full_arena_or_table_is_reported_and_the_rollback_is_incomplete_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", &[b'x'; 4096], false);
    let mut s = store(256);
    let st = disk.stat("/d/f");
    assert_eq!(s.before_write(&disk, &st, || disk.open("/d/f"), 0, 4096), Err(Warning::ArenaFull));
    assert!(!s.power_cut(&disk, &Cut::ALL, 0), "a rollback without the old bytes is incomplete");

    let mut s = store(1 << 16);
    assert_eq!(s.before_write(&disk, &st, || None, 0, 1), Err(Warning::Unopenable));
    let long = vec![b'a'; PATH];
    assert_eq!(s.journal(&disk, Op::Created, &long, None, None), Err(Warning::PathTooLong));
}

#[test]
fn reservations_filled_out_of_order_still_roll_back_to_the_synced_bytes() {
    roomy(reservations_filled_out_of_order_body);
}

fn reservations_filled_out_of_order_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"0123456789", false);
    let mut s = store(1 << 16);
    let st = disk.stat("/d/f");
    // Two processes reserve, in this order, for overlapping writes; the first reads and
    // writes, then the second; the second commits first.
    // Each process allocates from its own chunk of the arena.
    let (mut ca, mut cb) = (Chunk::default(), Chunk::default());
    let a = s.reserve_write(&disk, &st, || disk.open("/d/f"), &mut ca, 2, 2).unwrap().unwrap();
    let b = s.reserve_write(&disk, &st, || disk.open("/d/f"), &mut cb, 2, 3).unwrap().unwrap();
    let got_a = s.fill(&disk, &a);
    disk.program_write("/d/f", 2, b"ab");
    let got_b = s.fill(&disk, &b);
    disk.program_write("/d/f", 2, b"cde");
    assert!(s.commit(b, got_b));
    assert!(s.commit(a, got_a));
    assert_eq!(disk.content("/d/f").unwrap(), b"01cde56789");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    assert_eq!(disk.content("/d/f").unwrap(), b"0123456789");
}

#[test]
fn a_reservation_made_stale_by_a_sync_is_not_linked() {
    roomy(a_stale_reservation_body);
}

fn a_stale_reservation_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"0123456789", false);
    let mut s = store(1 << 16);
    let st = disk.stat("/d/f");
    let mut chunk = Chunk::default();
    let r = s.reserve_write(&disk, &st, || disk.open("/d/f"), &mut chunk, 0, 4).unwrap().unwrap();
    let got = s.fill(&disk, &r);
    s.synced(&disk, &st).unwrap();
    assert!(!s.commit(r, got), "the file was synced in between");
    // Saved again, as the caller does, before its write.
    write(&mut s, &disk, "/d/f", 0, b"WXYZ");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    assert_eq!(disk.content("/d/f").unwrap(), b"0123456789");
    // Nothing past the synced size needs saving.
    let none = s.reserve_write(&disk, &st, || disk.open("/d/f"), &mut chunk, 10, 4).unwrap();
    assert!(none.is_none());
}

// ---- crash states that keep some changes ---------------------------------------------------

/// The program writes `bytes` at `off` of `path` as the preload sees it when cuts keep
/// changes: the store before the write, and what it left after.
fn write_kept(s: &mut Store<'_>, disk: &MemDisk, path: &str, off: u64, bytes: &[u8]) {
    write(s, disk, path, off, bytes);
    s.wrote(disk, &disk.stat(path), off, bytes.len() as u64).unwrap();
}

/// Applies the writes `(path, off, bytes)` whose index `keep` keeps, in order, to `base`
/// (the synced contents of each path): the state a disk that kept exactly those shows.
fn replayed<'a>(
    base: &[(&'a str, &[u8])],
    writes: &[(&'a str, u64, &[u8])],
    keep: impl Fn(usize) -> bool,
) -> Vec<(&'a str, Vec<u8>)> {
    let mut files: Vec<(&str, Vec<u8>)> = base.iter().map(|(p, b)| (*p, b.to_vec())).collect();
    for (_, (path, off, bytes)) in writes.iter().enumerate().filter(|(i, _)| keep(*i)) {
        let d = &mut files.iter_mut().find(|(p, _)| p == path).unwrap().1;
        let (off, end) = (*off as usize, *off as usize + bytes.len());
        if d.len() < end {
            d.resize(end, 0);
        }
        d[off..end].copy_from_slice(bytes);
    }
    files
}

/// The crash state `cut` with `seed` leaves after the writes, on fresh files with `base`.
fn cut_state<'a>(
    base: &[(&'a str, &[u8])],
    writes: &[(&'a str, u64, &[u8])],
    cut: Cut,
    seed: u64,
) -> Vec<(&'a str, Vec<u8>)> {
    let disk = MemDisk::with_dirs(&["/d"]);
    for (p, b) in base {
        disk.add(p, b, false);
    }
    let mut s = store(1 << 16);
    for (p, off, bytes) in writes {
        write_kept(&mut s, &disk, p, *off, bytes);
    }
    assert!(s.power_cut(&disk, &cut, seed));
    base.iter().map(|(p, _)| (*p, disk.content(p).unwrap())).collect()
}

const BASE: [(&str, &[u8]); 2] = [("/d/f", b"0000000000"), ("/d/g", b"gggg")];
/// Overlapping writes, an append, and two files interleaved.
const WRITES: [(&str, u64, &[u8]); 5] = [
    ("/d/f", 2, b"aaaa"),
    ("/d/g", 0, b"GG"),
    ("/d/f", 4, b"bbbb"),
    ("/d/f", 10, b"ccc"),
    ("/d/g", 4, b"tail"),
];

#[test]
fn a_prefix_cut_keeps_the_changes_up_to_one_across_files() {
    roomy(a_prefix_cut_keeps_the_changes_up_to_one_across_files_body);
}

fn a_prefix_cut_keeps_the_changes_up_to_one_across_files_body() {
    let prefixes: Vec<_> =
        (0..=WRITES.len()).map(|k| replayed(&BASE, &WRITES, |i| i < k)).collect();
    let mut seen = vec![false; prefixes.len()];
    for seed in 0..64 {
        let cut = Cut { mode: Mode::Prefix, ..Cut::ALL };
        let state = cut_state(&BASE, &WRITES, cut, seed);
        let k = prefixes.iter().position(|p| *p == state);
        let Some(k) = k else { panic!("seed {seed}: {state:?} is no prefix of the writes") };
        seen[k] = true;
    }
    assert!(seen.iter().all(|s| *s), "64 seeds reach every prefix: {seen:?}");
}

#[test]
fn an_any_cut_keeps_a_seeded_subset_the_same_for_the_same_seed() {
    roomy(an_any_cut_keeps_a_seeded_subset_the_same_for_the_same_seed_body);
}

fn an_any_cut_keeps_a_seeded_subset_the_same_for_the_same_seed_body() {
    // Each file is one page here: of its writes, a prefix survives (the page as it was at
    // some moment), whatever survives of the other file's.
    let f: Vec<usize> = (0..WRITES.len()).filter(|i| WRITES[*i].0 == "/d/f").collect();
    let g: Vec<usize> = (0..WRITES.len()).filter(|i| WRITES[*i].0 == "/d/g").collect();
    let mut allowed = Vec::new();
    for a in 0..=f.len() {
        for b in 0..=g.len() {
            allowed.push(replayed(&BASE, &WRITES, |i| f[..a].contains(&i) || g[..b].contains(&i)));
        }
    }
    let cut = Cut { mode: Mode::Any, ..Cut::ALL };
    let mut seen = std::collections::HashSet::new();
    for seed in 0..200 {
        let state = cut_state(&BASE, &WRITES, cut, seed);
        assert_eq!(state, cut_state(&BASE, &WRITES, cut, seed), "seed {seed} is not pure");
        let m = allowed.iter().position(|s| *s == state);
        let Some(m) = m else { panic!("seed {seed}: {state:?} keeps no prefix of each page") };
        seen.insert(m);
    }
    assert_eq!(seen.len(), allowed.len(), "200 seeds reach every combination of page prefixes");
}

#[test]
fn an_any_cut_keeps_pages_independently_and_never_a_later_write_without_an_earlier() {
    roomy(an_any_cut_keeps_pages_independently_body);
}

fn an_any_cut_keeps_pages_independently_body() {
    // Two writes to page 0, then one to page 1: page 1 may survive without page 0, but the
    // second write to page 0 never without the first.
    let base = [("/d/f", &[b'o'; 8192][..])];
    let writes: [(&str, u64, &[u8]); 3] =
        [("/d/f", 0, b"first"), ("/d/f", 100, b"second"), ("/d/f", 4096, b"page1")];
    let cut = Cut { mode: Mode::Any, ..Cut::ALL };
    let mut page1_alone = false;
    for seed in 0..100 {
        let f = &cut_state(&base, &writes, cut, seed)[0].1;
        let (first, second) = (&f[..5] == b"first", &f[100..106] == b"second");
        assert!(first || !second, "seed {seed}: a later write kept without an earlier");
        page1_alone |= &f[4096..4101] == b"page1" && !first;
    }
    assert!(page1_alone, "page 1 survives without page 0 for some seed");
}

#[test]
fn a_torn_cut_keeps_whole_sectors_of_a_long_write() {
    roomy(a_torn_cut_keeps_whole_sectors_of_a_long_write_body);
}

fn a_torn_cut_keeps_whole_sectors_of_a_long_write_body() {
    let old = [b'o'; 4096];
    let new = [b'n'; 3000];
    let base = [("/d/f", &old[..])];
    // From the middle of sector 1 to the middle of sector 6 (512-byte sectors).
    let writes = [("/d/f", 700u64, &new[..])];
    let mut mixed = 0;
    for seed in 0..64 {
        let state = cut_state(&base, &writes, Cut { mode: Mode::Torn, ..Cut::ALL }, seed);
        let f = &state[0].1;
        assert_eq!(f.len(), 4096);
        // Each piece between sector boundaries (and the write's ends) is wholly old or new.
        let bounds = [700, 1024, 1536, 2048, 2560, 3072, 3584, 3700];
        let kinds: Vec<u8> = bounds
            .windows(2)
            .map(|w| {
                let piece = &f[w[0]..w[1]];
                assert!(piece.iter().all(|b| *b == piece[0]), "seed {seed}: a torn sector");
                piece[0]
            })
            .collect();
        assert!(f[..700].iter().chain(&f[3700..]).all(|b| *b == b'o'));
        mixed += usize::from(kinds.contains(&b'o') && kinds.contains(&b'n'));
    }
    // Half the seeds keep the write at all; nearly all of those keep only part of it.
    assert!(mixed >= 20, "seeds that keep part of the write: {mixed} of 64");
    let sector4k = Cut { mode: Mode::Torn, sector: 4096, ..Cut::ALL };
    for seed in 0..16 {
        let f = &cut_state(&base, &writes, sector4k, seed)[0].1;
        assert!(f[700..3700] == new[..] || f[..] == old[..], "one 4 KiB sector is never torn");
    }
}

#[test]
fn a_synced_write_and_a_truncation_are_replayed_in_their_order() {
    roomy(a_synced_write_and_a_truncation_are_replayed_in_their_order_body);
}

fn a_synced_write_and_a_truncation_are_replayed_in_their_order_body() {
    for seed in 0..32 {
        let disk = MemDisk::with_dirs(&["/d"]);
        disk.add("/d/f", b"0123456789", false);
        let mut s = store(1 << 16);
        write_kept(&mut s, &disk, "/d/f", 0, b"SYNCED");
        let st = disk.stat("/d/f");
        s.synced(&disk, &st).unwrap();
        // Truncate to 4, then write at 6: kept in order, the file is "SYNC\0\0xy".
        s.before_cut(&disk, &st, || disk.open("/d/f"), 4).unwrap();
        disk.data.borrow_mut().get_mut(&st.ino).unwrap().0.truncate(4);
        s.truncated(&disk, &disk.stat("/d/f"), 4).unwrap();
        write_kept(&mut s, &disk, "/d/f", 6, b"xy");
        assert!(s.power_cut(&disk, &Cut { mode: Mode::Prefix, ..Cut::ALL }, seed));
        let f = disk.content("/d/f").unwrap();
        assert!(
            [&b"SYNCED6789"[..], b"SYNC", b"SYNC\0\0xy"].contains(&&f[..]),
            "seed {seed}: {:?}",
            String::from_utf8_lossy(&f)
        );
    }
}

// ---- lose(E,clean) -------------------------------------------------------------------------

#[test]
fn a_clean_loss_keeps_the_bytes_readable_until_the_power_cut() {
    roomy(a_clean_loss_keeps_the_bytes_readable_until_the_power_cut_body);
}

fn a_clean_loss_keeps_the_bytes_readable_until_the_power_cut_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", &[b'o'; 8192], false);
    let mut s = store(1 << 20);
    write(&mut s, &disk, "/d/f", 100, b"NEW");
    write(&mut s, &disk, "/d/f", 8192, b"APPENDED");
    let st = disk.stat("/d/f");
    s.lose_clean(&disk, &st, false);
    // Still readable: nothing was rolled back.
    assert_eq!(&disk.content("/d/f").unwrap()[100..103], b"NEW");
    // The retried sync succeeds; the lost bytes are not durable for all that.
    s.synced(&disk, &disk.stat("/d/f")).unwrap();
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    let f = disk.content("/d/f").unwrap();
    assert_eq!(f.len(), 8200, "the size the good sync wrote stays");
    assert!(f[..8192].iter().all(|b| *b == b'o'), "the overwrite is lost");
    assert_eq!(&f[8192..], &[0u8; 8][..], "the appended bytes never reached the disk: zeros");
}

#[test]
fn pages_written_after_a_clean_loss_are_durable_whole_at_the_next_sync() {
    roomy(pages_written_after_a_clean_loss_are_durable_whole_at_the_next_sync_body);
}

fn pages_written_after_a_clean_loss_are_durable_whole_at_the_next_sync_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", &[b'o'; 3 * 4096], false);
    let mut s = store(1 << 20);
    // Lost: bytes in pages 0 and 2, and an append (page 3).
    write(&mut s, &disk, "/d/f", 10, b"lost0");
    write(&mut s, &disk, "/d/f", 8200, b"lost2");
    write(&mut s, &disk, "/d/f", 12288, &[b't'; 100]);
    s.lose_clean(&disk, &disk.stat("/d/f"), false);
    // After the loss, page 0 and the appended page are written again, then synced.
    write(&mut s, &disk, "/d/f", 4000, b"again");
    write(&mut s, &disk, "/d/f", 12300, b"tail");
    s.synced(&disk, &disk.stat("/d/f")).unwrap();
    // Later, unsynced: a power cut rolls this back as usual.
    write(&mut s, &disk, "/d/f", 5000, b"unsynced");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    let f = disk.content("/d/f").unwrap();
    assert_eq!(&f[10..15], b"lost0", "page 0 was written again: its lost bytes went with it");
    assert_eq!(&f[4000..4005], b"again");
    assert_eq!(&f[5000..5008], &[b'o'; 8][..], "the unsynced write is rolled back");
    assert_eq!(&f[8200..8205], &[b'o'; 5][..], "page 2 was not written again: lost");
    assert_eq!(&f[12288..12300], &[b't'; 12][..], "the appended page was written again");
    assert_eq!(&f[12300..12304], b"tail");
}

#[test]
fn a_revert_loss_after_a_clean_one_returns_to_what_the_disk_holds() {
    roomy(a_revert_loss_after_a_clean_one_returns_to_what_the_disk_holds_body);
}

fn a_revert_loss_after_a_clean_one_returns_to_what_the_disk_holds_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"0123456789", false);
    let mut s = store(1 << 20);
    write(&mut s, &disk, "/d/f", 0, b"AB");
    s.lose_clean(&disk, &disk.stat("/d/f"), false);
    write(&mut s, &disk, "/d/f", 10, b"tail");
    assert!(s.lose(&disk, &disk.stat("/d/f"), false));
    assert_eq!(disk.content("/d/f").unwrap(), b"0123456789");
}

// ---- writes through shared mappings -----------------------------------------------------

#[test]
fn writes_through_a_mapping_are_rolled_back_to_the_last_sync() {
    roomy(writes_through_a_mapping_are_rolled_back_to_the_last_sync_body);
}

fn writes_through_a_mapping_are_rolled_back_to_the_last_sync_body() {
    // Whether or not the disk tells which pages were written, the outcome is the same.
    for tells in [false, true] {
        let disk = MemDisk::with_dirs(&["/d"]);
        *disk.pages.borrow_mut() = tells.then(Vec::new);
        disk.add("/d/m", &[b'0'; 8192], false);
        let mut s = store(1 << 20);
        s.mapped(&disk, &disk.stat("/d/m"), || disk.open("/d/m"), (0, 8192), OWNER).unwrap();
        // Stores through the mapping: the store sees nothing of them. An msync of it all,
        // then an fsync.
        disk.map_write("/d/m", 50, b"zeroth");
        s.synced_bytes(&disk, &disk.stat("/d/m"), 0, 8192).unwrap();
        disk.map_write("/d/m", 100, b"first");
        s.synced(&disk, &disk.stat("/d/m")).unwrap();
        disk.map_write("/d/m", 200, b"second");
        // msync of the second page only: its bytes are durable, the rest are not.
        disk.map_write("/d/m", 5000, b"third");
        s.synced_bytes(&disk, &disk.stat("/d/m"), 4096, 4096).unwrap();
        disk.map_write("/d/m", 6000, b"fourth");
        assert!(s.power_cut(&disk, &Cut::ALL, 0));
        let m = disk.content("/d/m").unwrap();
        assert_eq!(&m[50..56], b"zeroth", "synced by msync of the whole mapping ({tells})");
        assert_eq!(&m[100..105], b"first", "synced by fsync ({tells})");
        assert_eq!(&m[200..206], b"000000", "written after the sync: rolled back ({tells})");
        assert_eq!(&m[5000..5005], b"third", "synced by msync ({tells})");
        assert_eq!(&m[6000..6006], b"000000", "written after the msync: rolled back ({tells})");
    }
}

#[test]
fn a_sync_reads_again_only_the_pages_written_through_the_mapping() {
    roomy(a_sync_reads_again_only_the_pages_written_body);
}

fn a_sync_reads_again_only_the_pages_written_body() {
    const MAP: usize = 1 << 20;
    for tells in [false, true] {
        let disk = MemDisk::with_dirs(&["/d"]);
        *disk.pages.borrow_mut() = tells.then(Vec::new);
        disk.add("/d/m", &vec![b'0'; MAP], false);
        let mut s = store(4 << 20);
        s.mapped(&disk, &disk.stat("/d/m"), || disk.open("/d/m"), (0, MAP as u64), OWNER).unwrap();
        let mut read = Vec::new();
        for (k, sync) in ["msync", "fsync", "msync"].into_iter().enumerate() {
            disk.map_write("/d/m", 8192 * (k + 1) + 10, b"commit");
            let before = *disk.read.borrow();
            match sync {
                "msync" => s.synced_bytes(&disk, &disk.stat("/d/m"), 0, MAP as u64).unwrap(),
                _ => s.synced(&disk, &disk.stat("/d/m")).unwrap(),
            }
            read.push(*disk.read.borrow() - before);
        }
        let expected = if tells { vec![4096; 3] } else { vec![MAP as u64; 3] };
        assert_eq!(read, expected, "bytes read at each sync, when the disk tells: {tells}");
        disk.map_write("/d/m", 0, b"lost");
        assert!(s.power_cut(&disk, &Cut::ALL, 0));
        let m = disk.content("/d/m").unwrap();
        assert_eq!(&m[..4], b"0000");
        for k in 1..=3 {
            assert_eq!(&m[8192 * k + 10..8192 * k + 16], b"commit", "commit {k} ({tells})");
        }
    }
}

#[test]
fn a_write_under_a_mapping_is_durable_at_the_sync_though_no_page_was_stored_to() {
    roomy(a_write_under_a_mapping_body);
}

fn a_write_under_a_mapping_body() {
    for sync in ["msync", "fsync"] {
        let disk = MemDisk::with_dirs(&["/d"]);
        *disk.pages.borrow_mut() = Some(Vec::new());
        disk.add("/d/m", &[b'0'; 16384], false);
        let mut s = store(1 << 20);
        s.mapped(&disk, &disk.stat("/d/m"), || disk.open("/d/m"), (0, 16384), OWNER).unwrap();
        // A pwrite through a descriptor lands under the mapping, which saw no store.
        write(&mut s, &disk, "/d/m", 9000, b"pwritten");
        match sync {
            "msync" => s.synced_bytes(&disk, &disk.stat("/d/m"), 0, 16384).unwrap(),
            _ => s.synced(&disk, &disk.stat("/d/m")).unwrap(),
        }
        write(&mut s, &disk, "/d/m", 12000, b"after");
        assert!(s.power_cut(&disk, &Cut::ALL, 0));
        let m = disk.content("/d/m").unwrap();
        assert_eq!(&m[9000..9008], b"pwritten", "synced by the {sync}");
        assert_eq!(&m[12000..12005], b"00000", "written after the {sync}");
    }
}

#[test]
fn a_range_mapped_twice_is_read_again_whole() {
    roomy(a_range_mapped_twice_body);
}

fn a_range_mapped_twice_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    *disk.pages.borrow_mut() = Some(Vec::new());
    disk.add("/d/m", &[b'0'; 8192], false);
    let mut s = store(1 << 20);
    let st = disk.stat("/d/m");
    s.mapped(&disk, &st, || disk.open("/d/m"), (0, 8192), OWNER).unwrap();
    // Another process maps the same range: its stores are not among this one's pages.
    s.mapped(&disk, &st, || disk.open("/d/m"), (0, 8192), 43).unwrap();
    disk.program_write("/d/m", 5000, b"other");
    s.synced_bytes(&disk, &st, 0, 8192).unwrap();
    disk.map_write("/d/m", 100, b"lost");
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    let m = disk.content("/d/m").unwrap();
    assert_eq!(&m[5000..5005], b"other", "the other process's store was synced");
    assert_eq!(&m[100..104], b"0000");
}

#[test]
fn a_dsync_write_is_durable_with_the_size_it_reaches() {
    roomy(a_dsync_write_is_durable_with_the_size_it_reaches_body);
}

fn a_dsync_write_is_durable_with_the_size_it_reaches_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", b"0123456789", false);
    let mut s = store(1 << 16);
    write(&mut s, &disk, "/d/f", 0, b"ab");
    write(&mut s, &disk, "/d/f", 10, b"appended");
    // Through an O_DSYNC descriptor: bytes 4..6, then bytes 20..22 past the append.
    write(&mut s, &disk, "/d/f", 4, b"DS");
    s.synced_write(&disk, &disk.stat("/d/f"), 4, 2).unwrap();
    write(&mut s, &disk, "/d/f", 20, b"YZ");
    s.synced_write(&disk, &disk.stat("/d/f"), 20, 2).unwrap();
    assert!(s.power_cut(&disk, &Cut::ALL, 0));
    let f = disk.content("/d/f").unwrap();
    assert_eq!(&f[..10], b"0123DS6789", "the plain write is lost, the dsync one stays");
    assert_eq!(&f[10..20], &[0u8; 10][..], "the unsynced append before it reads as zeros");
    assert_eq!(&f[20..], b"YZ");
}

// ---- a named crash state (`powercut(keep=ID)`) -------------------------------------------

#[test]
fn a_keep_cut_makes_exactly_the_changes_its_marks_name() {
    roomy(a_keep_cut_body);
}

fn a_keep_cut_body() {
    let disk = MemDisk::with_dirs(&["/d"]);
    disk.add("/d/f", &[b'o'; 2048], false);
    let mut s = store(1 << 20);
    // Three writes: the first lost, the second kept whole, the third (sectors 2 and 3) torn
    // to keep only its sector 3.
    write_kept(&mut s, &disk, "/d/f", 0, &[b'a'; 100]);
    let first = s.seq();
    write_kept(&mut s, &disk, "/d/f", 200, &[b'b'; 100]);
    let second = s.seq();
    write_kept(&mut s, &disk, "/d/f", 1024, &[b'c'; 1024]);
    let third = s.seq();
    let sectors = [false, true];
    let fate = |seq: u64| match seq {
        x if x == second => Some(None),
        x if x == third => Some(Some(&sectors[..])),
        x => {
            assert_eq!(x, first, "only the three writes' records are asked about");
            None
        }
    };
    let (last_entry, exact) = s.mark_kept(&fate, 0);
    assert!(exact);
    assert_eq!(last_entry, 0, "no directory entry kept");
    let cut = Cut { mode: Mode::Keep, ..Cut::ALL };
    assert!(s.power_cut(&disk, &cut, last_entry));
    let f = disk.content("/d/f").unwrap();
    assert!(f[..100].iter().all(|b| *b == b'o'), "the first write is lost");
    assert!(f[200..300].iter().all(|b| *b == b'b'), "the second is kept");
    assert!(f[1024..1536].iter().all(|b| *b == b'o'), "the third's sector 2 is lost");
    assert!(f[1536..2048].iter().all(|b| *b == b'c'), "and its sector 3 kept");
}
