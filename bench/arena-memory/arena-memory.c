/* What memory costs the undo arena: copying 256 MiB of a file, 4 KiB at a time, into
 * (0) private anonymous memory (a process's own model), (1) a file in /dev/shm faulted page by
 * page, (2) the same with each MiB faulted in at once (MADV_POPULATE_WRITE, the run's shared
 * model), (3) private anonymous memory with transparent huge pages, (4) and (5) a memfd, page
 * by page and by the MiB; then the time to give it back (munmap, unlink).
 *
 *   bash bench/arena-memory/run.sh
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  size_t N=256<<20; int src=open(argv[1],O_RDONLY); int mode=atoi(argv[2]);
  char*p; int shm=-1;
  double t0=now();
  if(mode==0){ p=mmap(0,1UL<<30,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0);}
  else if(mode==3){ p=mmap(0,1UL<<30,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0); madvise(p,1UL<<30,MADV_HUGEPAGE);}
  else { shm= (mode==4||mode==5) ? memfd_create("mb",0) : open("/dev/shm/mbtest",O_RDWR|O_CREAT|O_TRUNC,0600); ftruncate(shm,1UL<<30); p=mmap(0,1UL<<30,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_NORESERVE,shm,0);}
  for(size_t off=0;off<N;off+=4096){
    if((mode==2||mode==5) && off%(1<<20)==0) madvise(p+off,1<<20,23);
    pread(src,p+off,4096,off);
  }
  double t1=now();
  if(mode==0||mode==3) munmap(p,1UL<<30); else { munmap(p,1UL<<30); close(shm); unlink("/dev/shm/mbtest"); }
  double t2=now();
  printf("mode %d fill %.1f ms teardown %.1f ms\n",mode,(t1-t0)*1e3,(t2-t1)*1e3);
}
