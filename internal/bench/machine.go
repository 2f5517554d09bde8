package bench

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where a run happened.
type Machine struct {
	CPU    string  `json:"cpu"`
	Cores  int     `json:"cores"`
	RAMGB  float64 `json:"ram_gb"`
	Kernel string  `json:"kernel"`
}

// ThisMachine reads the CPU model and memory from /proc and the kernel
// release from uname; unknown parts stay empty.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if kb, ok := procField("/proc/meminfo", "MemTotal"); ok {
		m.RAMGB = float64(kb) / (1024 * 1024)
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}

// procField reads a "Name:  123 kB" line of a /proc file, in kB.
func procField(path, name string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// RSS is a process's resident memory in MB now (VmRSS) and at its peak
// (VmHWM), from /proc/<pid>/status.
func RSS(pid int) (now, peak float64, ok bool) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	cur, ok1 := procField(path, "VmRSS")
	hwm, ok2 := procField(path, "VmHWM")
	return float64(cur) / 1024, float64(hwm) / 1024, ok1 && ok2
}
