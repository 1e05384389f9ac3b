// MADV_COLLAPSE cost: touch N MB of anonymous memory, advise it MADV_HUGEPAGE and time MADV_COLLAPSE.
// gcc -O2 -o collapse smallrss-collapse.c && ./collapse 32 (docs/handover/smallrss.md)
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
int main(int c,char**v){ size_t mb=atoi(v[1]); size_t n=mb<<20; char*p=mmap(0,n+(2<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
 p=(char*)(((size_t)p+(2<<20)-1)&~((size_t)(2<<20)-1)); memset(p,1,n);
 double t=now(); int r=madvise(p,n,14); double t1=now(); r|=madvise(p,n,25); double t2=now();
 printf("%zu MB: advise %.2f ms, collapse %.2f ms (rc %d)\n",mb,t1-t,t2-t1,r);
 FILE*f=fopen("/proc/self/smaps_rollup","r"); char l[256]; while(fgets(l,256,f)) if(strstr(l,"AnonHuge")) fputs(l,stdout); }
