package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times
// (100 on every Linux the harness runs on).
const clockTicks = 100

// cpuMeter reads the CPU time used so far by the server, by the PostgreSQL
// cluster (the postmaster, its live backends and those it has reaped) and
// by the harness itself (the load generator and the SMTP sink). On a shared
// machine the journey's rate moves with the other work, while its CPU per
// email does not, so the two are reported together.
type cpuMeter struct {
	server, postmaster int
}

// cpuTimes is a reading of a cpuMeter.
type cpuTimes struct {
	server, postgres, harness time.Duration
}

// newCPUMeter finds the postmaster of the cluster pool talks to; a zero
// pid is skipped by the readings.
func newCPUMeter(ctx context.Context, pool *sqlx.DB, server int) cpuMeter {
	m := cpuMeter{server: server}
	var dir string
	if err := pool.GetContext(ctx, &dir, `SHOW data_directory`); err != nil {
		return m
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return m
	}
	m.postmaster, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	return m
}

func (m cpuMeter) read() cpuTimes {
	var t cpuTimes
	if m.server > 0 {
		t.server = procCPU(m.server, false)
	}
	if m.postmaster > 0 {
		t.postgres = procCPU(m.postmaster, true)
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if f := statFields(pid); len(f) > 1 && f[1] == strconv.Itoa(m.postmaster) {
				t.postgres += procCPU(pid, false)
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		t.harness = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return t
}

// statFields is /proc/PID/stat after the command name: state, ppid, ...
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procCPU is the user and system time of pid, with that of its reaped
// children when children is set.
func procCPU(pid int, children bool) time.Duration {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	// utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 here.
	n := 2
	if children {
		n = 4
	}
	var ticks int64
	for _, v := range f[11 : 11+n] {
		x, _ := strconv.ParseInt(v, 10, 64)
		ticks += x
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
