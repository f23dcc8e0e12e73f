"""LMDB transactions for the gallery (examples/gallery/lmdb.sh), with Debian's python3-lmdb.

    lmdb_txns.py setup                    an environment `db` with 10 keys, synced
    lmdb_txns.py run write|writemap [nosync]
                                          10 more transactions of one key each; after each
                                          commit returns, its number is appended to `acked`
                                          through an O_DSYNC descriptor (durable at once)
    lmdb_txns.py check                    the environment opens, and every acknowledged key is
                                          there; otherwise prints which were lost, exit 1
"""
import os
import sys

import lmdb

SETUP_KEYS = 10


def key(i):
    return b"k%05d" % i


def main():
    what = sys.argv[1]
    if what == "setup":
        env = lmdb.open("db", map_size=1 << 22)
        with env.begin(write=True) as t:
            for i in range(SETUP_KEYS):
                t.put(key(i), b"v" * 700)
        env.sync(True)
        return 0
    if what == "run":
        nosync = "nosync" in sys.argv[3:]
        env = lmdb.open("db", map_size=1 << 22, writemap=sys.argv[2] == "writemap",
                        sync=not nosync, metasync=not nosync)
        acked = os.open("acked", os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_DSYNC, 0o644)
        for i in range(SETUP_KEYS, SETUP_KEYS + 10):
            with env.begin(write=True) as t:
                t.put(key(i), b"v" * 700)
            os.write(acked, b"%d\n" % i)
        return 0
    if what == "check":
        try:
            acked = [int(x) for x in open("acked").read().split()]
        except FileNotFoundError:
            acked = []
        try:
            env = lmdb.open("db", map_size=1 << 22, readonly=True, lock=False)
            with env.begin() as t:
                lost = [i for i in range(SETUP_KEYS) if t.get(key(i)) is None]
                lost += [i for i in acked if t.get(key(i)) is None]
        except lmdb.Error as e:
            print("LMDB finds the environment corrupted:", e)
            return 1
        if lost:
            print("acknowledged transactions lost:", " ".join(str(i) for i in lost))
            return 1
        return 0
    raise SystemExit(f"unknown command {what}")


if __name__ == "__main__":
    sys.exit(main())
