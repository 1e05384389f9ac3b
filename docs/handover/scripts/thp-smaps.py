import sys,re
pid=sys.argv[1]
name=None
blocks=[]
cur=None
for line in open(f'/proc/{pid}/smaps'):
    m=re.match(r'^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$', line)
    if m:
        cur={'start':int(m.group(1),16),'end':int(m.group(2),16),'name':m.group(3).strip()}
        blocks.append(cur); continue
    k,_,v=line.partition(':')
    if k=='VmFlags': cur['hg']=' hg' in ' '+v
    elif k in ('Rss','AnonHugePages'): cur[k]=int(v.split()[0])
tot_thp=0; adv_thp=0
for b in blocks:
    tot_thp+=b.get('AnonHugePages',0)
    if b.get('hg'): adv_thp+=b.get('AnonHugePages',0)
    if b['name']=='[heap]' or b.get('Rss',0)>20000 or b.get('hg'):
        print(f"{b['name'] or 'anon':8} {(b['end']-b['start'])>>20:6d} MB rss {b.get('Rss',0)>>10:6d} MB thp {b.get('AnonHugePages',0)>>10:6d} MB {'hg' if b.get('hg') else '--'}")
print('total THP MB', tot_thp>>10, 'in hg', adv_thp>>10)
