#!/bin/sh
# top_filters: --cgroup, --path, --dev and -g file keep exactly the rows they
# should; bad filters are refused with exit 2.
. /daxtest/daxtest.sh

T=/tmp/top_filters
CG=/sys/fs/cgroup
rm -rf $T; mkdir -p $T $MNT/sub
grep -q " $CG cgroup2 " /proc/mounts || mount -t cgroup2 none $CG
mkdir -p $CG/daxg
daxtrace top -b -i 1 --cgroup $CG/daxg >$T/cg.txt 2>$T/cg.err &
A=$!
daxtrace top -b -i 1 --path $MNT/sub >$T/path.txt 2>$T/path.err &
B=$!
daxtrace top -b -i 1 --dev $MNT -g file >$T/file.txt 2>$T/file.err &
C=$!
for f in cg path file; do
	wait_for_line $T/$f.err ': ready' 120 || { fail ${f}_ready "$(cat $T/$f.err)"; kill $A $B $C; exit 1; }
done
sh -c "echo \$\$ > $CG/daxg/cgroup.procs; exec daxload fault --pages 32 --align 4k --write --shared $MNT/sub/in_cg" >$T/1.out
daxload fault --pages 16 --align 4k --write --shared $MNT/out >$T/2.out
sleep 1.2
kill -INT $A $B $C
wait $A $B $C
p1=$(daxload_get $T/1.out fault pid); i1=$(daxload_get $T/1.out fault ino)
p2=$(daxload_get $T/2.out fault pid); i2=$(daxload_get $T/2.out fault ino)

check_eq cgroup_keeps_member 32 "$(top_sum $T/cg.txt PTE PID=$p1)"
check_eq cgroup_drops_outsider 0 "$(top_sum $T/cg.txt PTE PID=$p2)"
check_eq path_keeps_file_under_prefix 32 "$(top_sum $T/path.txt PTE INO=$i1)"
check_eq path_drops_other_file 0 "$(top_sum $T/path.txt PTE INO=$i2)"
check_eq group_file_row_1 32 "$(top_sum $T/file.txt PTE INO=$i1)"
check_eq group_file_row_2 16 "$(top_sum $T/file.txt PTE INO=$i2)"
check_eq group_file_pid_column_is_star 2 "$(top_table $T/file.txt | awk 'NR > 1 && $1 == "*"' | wc -l)"

daxtrace top -b -d 1 --dev /tmp >/dev/null 2>$T/bad.err
check_eq non_dax_dev_exit_2 2 "$?"
check_eq non_dax_dev_one_line 1 "$(wc -l <$T/bad.err)"
daxtrace top -b -d 1 --path $MNT/nope >/dev/null 2>&1
check_eq missing_path_exit_2 2 "$?"
exit 0
