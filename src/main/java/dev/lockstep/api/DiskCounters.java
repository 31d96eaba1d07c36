package dev.lockstep.api;

import dev.lockstep.block.ExportStats;

/**
 * Counters of a disk's NBD export.
 *
 * @param bytesRead bytes read by clients
 * @param bytesWritten bytes written by clients
 * @param operations all requests served
 * @param reads READ requests
 * @param writes WRITE requests
 * @param flushes FLUSH requests
 * @param trims TRIM requests
 * @param writeZeroes WRITE_ZEROES requests
 * @param blockStatus BLOCK_STATUS requests
 * @param errors requests answered with an error
 */
public record DiskCounters(long bytesRead, long bytesWritten, long operations, long reads, long writes, long flushes,
		long trims, long writeZeroes, long blockStatus, long errors) {

	static DiskCounters of(ExportStats stats) {
		return new DiskCounters(stats.bytesRead(), stats.bytesWritten(), stats.operations(), stats.reads(),
				stats.writes(), stats.flushes(), stats.trims(), stats.writeZeroes(), stats.blockStatusQueries(),
				stats.errors());
	}

}
