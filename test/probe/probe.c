/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * probe - a static test program run inside workspaces. Each subcommand
 * tries one thing and prints one line saying exactly what happened, so the
 * tests outside can assert exact outcomes:
 *
 *   probe ids                  uid/gid/groups, capability sets, no_new_privs,
 *                              seccomp mode
 *   probe fds                  open file descriptors ("FD -> target" lines)
 *   probe env                  the environment, one per line
 *   probe try NAME [ARG]       attempt a named operation; prints
 *                              "NAME ok" or "NAME EPERM" (errno name)
 *   probe read PATH            "read ok N" (bytes) or "read ERRNO"
 *   probe write PATH           "write ok" or "write ERRNO"
 *   probe forkbomb             fork until refused, then keep trying
 *   probe balloon              allocate and touch memory until killed
 *   probe sleep SECONDS        sleep
 *   probe exit N               exit with N
 *   probe kill SIG             kill itself with signal SIG
 *
 * It is built with the system compiler, statically, without the project's
 * sanitizer flags, because it runs in a minimal rootfs with no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <linux/reboot.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static int report(const char *what, long r)
{
	if (r < 0) {
		printf("%s %s\n", what, errname(errno));
		return 1;
	}
	printf("%s ok\n", what);
	return 0;
}

static void print_status_field(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[512];

	if (!f) {
		printf("%s ?\n", key);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t kl = strlen(key);
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			printf("%s %s", key, v);
			fclose(f);
			return;
		}
	}
	fclose(f);
	printf("%s ?\n", key);
}

static int cmd_ids(void)
{
	gid_t groups[64];
	int n = getgroups(64, groups);

	printf("uid %u euid %u gid %u egid %u\n", getuid(), geteuid(), getgid(), getegid());
	printf("groups");
	for (int i = 0; i < n; i++)
		printf(" %u", groups[i]);
	printf("\n");
	print_status_field("CapInh");
	print_status_field("CapPrm");
	print_status_field("CapEff");
	print_status_field("CapBnd");
	print_status_field("CapAmb");
	print_status_field("NoNewPrivs");
	print_status_field("Seccomp");
	return 0;
}

static int cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = d ? dirfd(d) : -1;

	if (!d) {
		printf("fds %s\n", errname(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd == self)
			continue;
		char path[64], target[512];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t k = readlink(path, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		printf("%d -> %s\n", fd, target);
	}
	closedir(d);
	return 0;
}

extern char **environ;

static int try_op(const char *name, const char *arg)
{
	long r;

	if (!strcmp(name, "mount")) {
		r = mount("none", "/tmp", "tmpfs", 0, NULL);
	} else if (!strcmp(name, "umount")) {
		r = umount2(arg ? arg : "/proc", MNT_DETACH);
	} else if (!strcmp(name, "unshare-user")) {
		r = unshare(CLONE_NEWUSER);
	} else if (!strcmp(name, "clone-user")) {
		pid_t p = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
		if (p == 0)
			_exit(0);
		if (p > 0)
			waitpid(p, NULL, 0);
		r = p;
	} else if (!strcmp(name, "unshare-mount")) {
		r = unshare(CLONE_NEWNS);
	} else if (!strcmp(name, "setns")) {
		int fd = open("/proc/self/ns/net", O_RDONLY);
		r = fd < 0 ? -1 : setns(fd, 0);
	} else if (!strcmp(name, "keyctl")) {
		r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
	} else if (!strcmp(name, "add_key")) {
		r = syscall(SYS_add_key, "user", "probe", "x", 1, -3);
	} else if (!strcmp(name, "bpf")) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.map_type = BPF_MAP_TYPE_ARRAY;
		attr.key_size = 4;
		attr.value_size = 4;
		attr.max_entries = 1;
		r = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	} else if (!strcmp(name, "perf_event_open")) {
		struct perf_event_attr pe;
		memset(&pe, 0, sizeof(pe));
		pe.type = PERF_TYPE_SOFTWARE;
		pe.size = sizeof(pe);
		pe.config = PERF_COUNT_SW_CPU_CLOCK;
		pe.exclude_kernel = 1;
		r = syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
	} else if (!strcmp(name, "userfaultfd")) {
		r = syscall(SYS_userfaultfd, O_CLOEXEC);
	} else if (!strcmp(name, "open_by_handle_at")) {
		struct {
			unsigned int bytes;
			int type;
			unsigned char h[128];
		} fh = { .bytes = 8, .type = 1 };
		r = syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
	} else if (!strcmp(name, "tiocsti")) {
		char c = 'x';
		int fd = open(arg ? arg : "/dev/tty", O_RDWR | O_NOCTTY);
		r = fd < 0 ? -1 : ioctl(fd, TIOCSTI, &c);
	} else if (!strcmp(name, "tiocsti-stdin")) {
		char c = 'x';
		r = ioctl(0, TIOCSTI, &c);
	} else if (!strcmp(name, "io_uring_setup")) {
		unsigned char params[120];
		memset(params, 0, sizeof(params));
		r = syscall(SYS_io_uring_setup, 1, params);
	} else if (!strcmp(name, "kexec_load")) {
		r = syscall(SYS_kexec_load, 0, 0, NULL, 0);
	} else if (!strcmp(name, "init_module")) {
		r = syscall(SYS_init_module, NULL, 0, "");
	} else if (!strcmp(name, "clock_settime")) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = clock_settime(CLOCK_REALTIME, &ts);
	} else if (!strcmp(name, "swapon")) {
		r = swapon("/nonexistent", 0);
	} else if (!strcmp(name, "reboot")) {
		r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			    LINUX_REBOOT_CMD_CAD_OFF, NULL);
	} else if (!strcmp(name, "acct")) {
		r = acct(NULL);
	} else if (!strcmp(name, "mknod")) {
		r = mknod(arg ? arg : "/tmp/probe-null", S_IFCHR | 0666, makedev(1, 3));
	} else if (!strcmp(name, "chroot")) {
		r = chroot("/");
	} else if (!strcmp(name, "ptrace")) {
		r = ptrace(PTRACE_ATTACH, (pid_t)atoi(arg ? arg : "1"), NULL, NULL);
	} else if (!strcmp(name, "kill")) {
		r = kill((pid_t)atoi(arg ? arg : "1"), 0);
	} else if (!strcmp(name, "sethostname")) {
		r = sethostname("probe", 5);
	} else if (!strcmp(name, "chown")) {
		r = chown(arg ? arg : "/tmp", 0, 0);
	} else if (!strcmp(name, "setuid0")) {
		r = setuid(0);
	} else if (!strcmp(name, "raw-socket")) {
		r = socket(AF_INET, SOCK_RAW, 1);
	} else if (!strcmp(name, "open")) {
		r = open(arg, O_RDONLY);
	} else {
		fprintf(stderr, "probe: unknown operation '%s'\n", name);
		return 2;
	}
	return report(name, r);
}

static int cmd_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[4096];
	long total = 0;

	if (fd < 0) {
		printf("read %s\n", errname(errno));
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			printf("read %s\n", errname(errno));
			return 1;
		}
		if (n == 0)
			break;
		total += n;
	}
	printf("read ok %ld\n", total);
	return 0;
}

static int cmd_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, "probe\n", 6) != 6) {
		printf("write %s\n", errname(errno));
		return 1;
	}
	close(fd);
	printf("write ok\n");
	return 0;
}

static int cmd_forkbomb(void)
{
	/* Fork until refused; children sleep so they count. The parent keeps
	 * trying, as a real fork bomb would, until it is killed. */
	unsigned refused = 0;
	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			if (++refused == 1) {
				printf("fork refused %s\n", errname(errno));
				fflush(stdout);
			}
			usleep(1000);
		}
	}
}

static int cmd_balloon(void)
{
	size_t chunk = 8 << 20;
	for (;;) {
		char *p = malloc(chunk);
		if (!p) {
			printf("balloon ENOMEM\n");
			return 1;
		}
		memset(p, 0x5a, chunk);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: probe ids|fds|env|try|read|write|forkbomb|balloon|sleep|exit|kill ...\n");
		return 2;
	}
	const char *c = argv[1];
	if (!strcmp(c, "ids"))
		return cmd_ids();
	if (!strcmp(c, "fds"))
		return cmd_fds();
	if (!strcmp(c, "env")) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (!strcmp(c, "try") && argc >= 3)
		return try_op(argv[2], argc >= 4 ? argv[3] : NULL);
	if (!strcmp(c, "read") && argc == 3)
		return cmd_read(argv[2]);
	if (!strcmp(c, "write") && argc == 3)
		return cmd_write(argv[2]);
	if (!strcmp(c, "forkbomb"))
		return cmd_forkbomb();
	if (!strcmp(c, "balloon"))
		return cmd_balloon();
	if (!strcmp(c, "sleep") && argc == 3) {
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	if (!strcmp(c, "exit") && argc == 3)
		return atoi(argv[2]);
	if (!strcmp(c, "kill") && argc == 3) {
		signal(atoi(argv[2]), SIG_DFL);
		kill(getpid(), atoi(argv[2]));
		pause();
	}
	fprintf(stderr, "probe: bad arguments\n");
	return 2;
}
