import subprocess, sys, time, socket, os
def gen(case, n):
    out=[]
    for i in range(n):
        if case=='string-int': a=['SET',f'key:{i}',str(i*7)]
        elif case=='string-int-ttl': a=['SET',f'key:{i}',str(i*7),'EX','100000']
        elif case=='string-longkey': a=['SET',f'a-rather-long-key-name-for-testing:{i}',str(i*7)]
        elif case=='string-10B': a=['SET',f'key:{i}','v'+str(i).zfill(9)]
        elif case=='list-10': a=['RPUSH',f'list:{i}']+[f'm:{j}:{i}' for j in range(10)]
        elif case=='hash-10': a=['HSET',f'hash:{i}']+sum([[f'f{j}',f'm:{j}:{i}'] for j in range(10)],[])
        elif case=='set-int-10': a=['SADD',f'set:{i}']+[str(i*10+j) for j in range(10)]
        elif case=='zset-10': a=['ZADD',f'zset:{i}']+sum([[repr(j*1.5).rstrip('0').rstrip('.') if j else '0',f'm:{j}:{i}'] for j in range(10)],[])
        out.append('*%d\r\n'%len(a)+''.join('$%d\r\n%s\r\n'%(len(x),x) for x in a))
    return ''.join(out).encode()
def info(port, field):
    r=subprocess.run(['redis-cli','-p',str(port),'info','everything'],capture_output=True,text=True).stdout
    for l in r.splitlines():
        if l.startswith(field+':'): return int(l.split(':')[1])
def run(kind, case, n, port):
    d=f'/tmp/keynode-probe-{port}'; os.makedirs(d,exist_ok=True)
    if kind=='redis': cmd=['redis-server','--port',str(port),'--save','','--dir',d]
    else: cmd=['node',f'{kind}/dist/src/main.js','--port',str(port),'--save','','--dir',d]
    p=subprocess.Popen(cmd,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
    for _ in range(100):
        time.sleep(0.1)
        if subprocess.run(['redis-cli','-p',str(port),'ping'],capture_output=True,text=True).stdout.strip()=='PONG': break
    field='used_memory' if kind=='redis' else 'keyfork_used_memory_addon'
    b=info(port,field)
    subprocess.run(['redis-cli','-p',str(port),'--pipe'],input=gen(case,n),capture_output=True)
    time.sleep(1)
    a=info(port,field)
    p.terminate(); p.wait()
    return (a-b)/n
n=int(sys.argv[1])
cases=sys.argv[2].split(',')
for c in cases:
    per=10 if '-10' in c else 1
    r=[run(k,c,n,6470+i) for i,k in enumerate(['/tmp/keynode-base','/tmp/keynode-snap','redis'])]
    print(f"{c}: base {r[0]/per:.1f}  now {r[1]/per:.1f}  redis(used_memory) {r[2]/per:.1f} B/elem")
