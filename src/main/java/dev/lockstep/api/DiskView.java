package dev.lockstep.api;

import dev.lockstep.block.Disk;
import dev.lockstep.block.ExportStats;

/**
 * A disk as listed by {@code GET /api/v1/disks}.
 *
 * @param name the disk and export name
 * @param path the absolute path of the raw image
 * @param size the size in bytes
 * @param allocatedBytes bytes in blocks of the image that hold data
 * @param readOnly whether clients may only read
 * @param exportUrl the NBD URL clients connect to
 * @param clients the number of connected NBD clients
 * @param counters traffic and operation counters since start-up
 */
public record DiskView(String name, String path, long size, long allocatedBytes, boolean readOnly, String exportUrl,
		int clients, DiskCounters counters) {

	static DiskView of(Disk disk, String exportUrl) {
		ExportStats stats = disk.export().stats();
		return new DiskView(disk.name(), disk.path().toString(), disk.size(), disk.allocatedBytes(), disk.readOnly(),
				exportUrl, stats.clients(), DiskCounters.of(stats));
	}

}
