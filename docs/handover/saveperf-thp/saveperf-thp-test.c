#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
int main(int argc,char**argv){
  size_t sz=(size_t)atoi(argv[1])<<20; int huge=atoi(argv[2]);
  char*p=mmap(0,sz+(2<<20),PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
  p=(char*)(((unsigned long)p+(2<<20)-1)&~((2UL<<20)-1));
  if(huge) madvise(p,sz,MADV_HUGEPAGE);
  memset(p,1,sz);
  size_t pages=sz/4096; unsigned *perm=malloc(pages*4); for(size_t i=0;i<pages;i++)perm[i]=i;
  srand(1); for(size_t i=pages-1;i>0;i--){size_t j=rand()%(i+1);unsigned t=perm[i];perm[i]=perm[j];perm[j]=t;}
  for(int r=0;r<2;r++){
  double t0=now(); pid_t pid=fork();
  if(pid==0){ double t1=now(); unsigned long s=0; for(size_t i=0;i<pages;i++) s+=p[(size_t)perm[i]*4096+ (i%64)*64];
    double t2=now(); s=0; for(size_t i=0;i<pages;i++) s+=p[(size_t)perm[i]*4096+ ((i+7)%64)*64];
    double t3=now(); printf("  child: first random pass %.1f ms, second %.1f ms (%lu)\n",t2-t1,t3-t2,s&1); fflush(stdout); _exit(0);}
  double tf=now()-t0; int st; waitpid(pid,&st,0); printf("huge=%d size=%zuMB fork %.2f ms\n",huge,sz>>20,tf);
  }
  FILE*f=fopen("/proc/self/smaps_rollup","r"); char l[256]; while(fgets(l,256,f)) if(strstr(l,"AnonHuge")) printf("  %s",l);
  return 0;}
