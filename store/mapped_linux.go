package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// releaseMapped finds the mappings of path's current file in
// /proc/self/maps (by device and inode, so a file compaction replaced,
// still mapped for its last reads, is left alone) and drops their pages
// with madvise(MADV_DONTNEED), which for a shared file mapping discards
// page table entries only. The caller holds the store's write lock, so no
// write can remap the file meanwhile.
func releaseMapped(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, nil
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	var released int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 {
			continue
		}
		inode, err := strconv.ParseUint(string(f[4]), 10, 64)
		if err != nil || inode != st.Ino {
			continue
		}
		var major, minor uint64
		if _, err := fmt.Sscanf(string(f[3]), "%x:%x", &major, &minor); err != nil || mkdev(major, minor) != uint64(st.Dev) {
			continue
		}
		var start, end uintptr
		if _, err := fmt.Sscanf(string(f[0]), "%x-%x", &start, &end); err != nil || end <= start {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("store: madvise %s: %w", path, errno)
		}
		released += int64(end - start)
	}
	return released, sc.Err()
}

// mkdev is glibc's makedev: how a stat's st_dev encodes /proc's major:minor.
func mkdev(major, minor uint64) uint64 {
	return (major&0xfff)<<8 | (major&^0xfff)<<32 | (minor & 0xff) | (minor&^0xff)<<12
}
