"""200 LMDB commits of one 700-byte value each, in ./db: `write` or `writemap` (MDB_WRITEMAP).
Prints the time they took. Used by bench/lmdb/run.sh."""
import lmdb, sys, time
env = lmdb.open("db", map_size=1 << 24, writemap=sys.argv[1] == "writemap")
t = time.time()
for i in range(200):
    with env.begin(write=True) as txn:
        txn.put(b"k%05d" % i, b"v" * 700)
print(sys.argv[1], "200 commits", round((time.time() - t) * 1000), "ms")
