# profiler_work.sh — the inputs of the python, debpy and sqlite workloads,
# shared by bench_profiler.sh (timings) and profiler_instructions.sh
# (callgrind counts).  Sourced; each function writes to stdout:
#   work_py N    the dict/list script for N keys
#   work_sql N   N INSERTs in one transaction, an index and 22 SELECTs

work_py() {
    cat <<EOF
n = $1
d = {}
for i in range(n):
    d["key%d" % i] = [i, str(i), (i, i * 2)]
l = [v[1] for v in d.values() if v[0] % 3]
s = {}
for k in list(d)[: n // 2]:
    s[k.upper()] = d.pop(k)
l.sort(reverse=True)
t = sum(len(x) for x in l) + len(s) + len(d)
print(t)
EOF
}

work_sql() {
    python3 - "$1" <<'EOF'
import sys
n = int(sys.argv[1])
print("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL);")
print("BEGIN;")
for i in range(n):
    print("INSERT INTO t(name, grp, val) VALUES('name-%d-%s', %d, %d.5);"
          % (i, "x" * (i % 40), i % 97, i))
print("COMMIT;")
print("CREATE INDEX t_grp ON t(grp);")
for g in range(20):
    print("SELECT grp, count(*), sum(val), max(length(name)) FROM t "
          "WHERE grp = %d GROUP BY grp;" % g)
print("SELECT count(*) FROM t WHERE name LIKE '%%-1%%';")
print("SELECT name FROM t ORDER BY val DESC LIMIT 3;")
EOF
}
