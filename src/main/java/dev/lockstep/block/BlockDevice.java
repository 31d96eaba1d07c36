package dev.lockstep.block;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A byte-addressed block device: the unit that the NBD server exports and that
 * replication layers stack on top of each other (overlays, forwarding,
 * copy-before-write).
 *
 * <p>
 * Implementations must be safe for concurrent use by many threads. Requests are already
 * validated against {@link #size()} by the caller; an implementation may still throw
 * {@link IOException} for real I/O faults, which the NBD server turns into an {@code EIO}
 * reply.
 */
public interface BlockDevice extends Closeable {

	/**
	 * Returns the size of the device in bytes. It does not change while the device is
	 * open.
	 */
	long size();

	/**
	 * Returns whether the device rejects writes.
	 */
	boolean readOnly();

	/**
	 * Returns whether a write without FUA completes in this process and the local page
	 * cache, without waiting for another node or server. The NBD server processes such
	 * short writes on the thread that read them: writes to one image file take turns in
	 * the kernel anyway, and handing each to another thread would only add a wake-up. A
	 * device that passes writes on to one other device answers for that device; the
	 * default, for devices that forward or may wait long, is {@code false}.
	 */
	default boolean writesLocally() {
		return false;
	}

	/**
	 * Reads {@code dst.remaining()} bytes starting at {@code offset} into {@code dst},
	 * advancing its position to its limit. Unallocated regions read as zeroes.
	 */
	void read(long offset, ByteBuffer dst) throws IOException;

	/**
	 * Writes {@code src.remaining()} bytes at {@code offset}. When {@code fua} is set the
	 * data must be durable before the method returns.
	 */
	void write(long offset, ByteBuffer src, boolean fua) throws IOException;

	/**
	 * Writes {@code length} zero bytes at {@code offset}. When {@code mayTrim} is set the
	 * device may deallocate the range instead of writing zeroes, as long as it reads back
	 * as zeroes.
	 */
	void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException;

	/**
	 * Hints that {@code length} bytes at {@code offset} are no longer needed. The
	 * contents of the range are unspecified afterwards.
	 */
	void trim(long offset, long length, boolean fua) throws IOException;

	/**
	 * Makes every write that completed before this call durable.
	 */
	void flush() throws IOException;

	/**
	 * Describes the allocation of the range {@code [offset, offset + length)} as a list
	 * of contiguous extents that cover the range from its start. The list may end early
	 * (cover less than {@code length}) but never covers bytes past the end of the device.
	 */
	List<Extent> allocation(long offset, long length) throws IOException;

	/**
	 * One run of bytes with the same allocation state.
	 *
	 * @param length the number of bytes in the run
	 * @param hole whether the run is unallocated
	 * @param zero whether the run is known to read as zeroes
	 */
	record Extent(long length, boolean hole, boolean zero) {
	}

}
