import re, sys
def load(f):
    d = {}
    for line in open(f):
        m = re.match(r'\s*([\d,]+)\s+\([^)]*\)\s+(.*)$', line)
        if not m: continue
        n = int(m.group(1).replace(',', ''))
        name = m.group(2)
        name = re.sub(r' \[[^\]]*\]$', '', name)
        name = name.split(':', 1)[1] if ':' in name and name.startswith('/') or name.startswith('./') else name
        name = re.sub(r'/work/[^/]+/', '', name)
        d[name] = max(d.get(name, 0), n)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
n = float(sys.argv[3]) if len(sys.argv) > 3 else 10000
keys = set(a) | set(b)
rows = sorted(keys, key=lambda k: -abs(b.get(k, 0) - a.get(k, 0)))
for k in rows[:int(sys.argv[4]) if len(sys.argv) > 4 else 60]:
    print(f"{a.get(k,0)/n:9.0f} {b.get(k,0)/n:9.0f} {(b.get(k,0)-a.get(k,0))/n:+9.0f}  {k[:170]}")
