package shell

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// escaped returns the descendants of the program pid that are in another
// process group than its own, which a signal to the group misses:
// coreutils timeout moves itself (and so what it runs) into a group of its
// own. The handles are pidfds, so a pid reused later is not signalled.
func escaped(pid int) []*os.Process {
	children := map[int][]int{}
	group := map[int]int{}
	entries, _ := os.ReadDir("/proc") // none without procfs: the group kill only
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, pgrp, ok := readStat(p); ok {
			children[ppid] = append(children[ppid], p)
			group[p] = pgrp
		}
	}
	var out []*os.Process
	for todo := children[pid]; len(todo) > 0; todo = todo[1:] {
		p := todo[0]
		todo = append(todo, children[p]...)
		if group[p] == pid {
			continue
		}
		if proc, err := os.FindProcess(p); err == nil {
			out = append(out, proc)
		}
	}
	return out
}

// readStat reads the parent and process group of pid from /proc.
func readStat(pid int) (ppid, pgrp int, ok bool) {
	f := statFields(pid)
	if len(f) < 3 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	return ppid, pgrp, err1 == nil && err2 == nil
}

// exited reports whether the program pid has exited, reaped or not yet
// (a zombie): one that exited by itself in the instant a stop came must
// keep its own result, and what it left running must live on.
func exited(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	f := statFields(pid)
	return len(f) > 0 && f[0] == "Z"
}

// statFields are the fields of /proc/pid/stat after the command name (in
// parentheses): state, ppid, pgrp, ...; none if it cannot be read.
func statFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// groupEnded reports whether every process of the group pgid and every
// stray has ended. A zombie has: its parent may be slow to reap it, or
// never do (leaderhook as PID 1 in a container inherits the orphans).
func groupEnded(pgid int, strays []*os.Process) bool {
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) && groupRunning(pgid) {
		return false
	}
	for _, p := range strays {
		if err := p.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) && !exited(p.Pid) {
			return false
		}
	}
	return true
}

// groupRunning reports whether a process of the group pgid runs, zombies
// aside; without procfs, whether it has any process at all.
func groupRunning(pgid int) bool {
	proc, err := os.Open("/proc")
	if err != nil {
		return true
	}
	names, err := proc.Readdirnames(-1) // unsorted, unlike os.ReadDir
	proc.Close()
	if err != nil {
		return true
	}
	for _, name := range names {
		p, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if f := statFields(p); len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return true
		}
	}
	return false
}
