package dev.lockstep.api;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.Disk;
import dev.lockstep.block.ExportStats;
import dev.lockstep.block.replicated.primary.VerifyStatus;

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
 * @param verify the last or running online verify ({@code POST
 * /api/v1/disks/{name}/verify}), or {@code null} if none ran
 */
public record DiskView(String name, String path, long size, long allocatedBytes, boolean readOnly, String exportUrl,
		int clients, DiskCounters counters, @Nullable VerifyStatus verify) {

	static DiskView of(Disk disk, String exportUrl, @Nullable VerifyStatus verify) {
		ExportStats stats = disk.export().stats();
		return new DiskView(disk.name(), disk.path().toString(), disk.size(), disk.allocatedBytes(), disk.readOnly(),
				exportUrl, stats.clients(), DiskCounters.of(stats), verify);
	}

}
