package dev.lockstep.block.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.BlockDevice;

/**
 * A {@link BlockDevice} backed by a raw image file, with positional {@link FileChannel}
 * I/O on one shared channel that an interrupt cannot close (see {@link DiskFiles}): a
 * thread interrupted during a read or write completes it and keeps its interrupt status,
 * and the device stays open with its lock held.
 *
 * <p>
 * The image is locked for the lifetime of the device (exclusively, or shared when
 * read-only), so two processes cannot serve it at once. Allocation is tracked in an
 * {@link AllocationMap} at {@value #GRANULARITY}-byte granularity: Java offers no
 * {@code SEEK_DATA}/{@code SEEK_HOLE} nor hole punching, so the map is the device's own
 * record of which blocks hold data. It is kept beside the image in a sidecar file on a
 * clean close and rebuilt by scanning for all-zero blocks when that file is missing or
 * stale. Zeroing and trimming a whole block writes zeroes (if it held data) and marks it
 * a hole.
 *
 * <p>
 * Every write completes on the shared channel before the call returns, so
 * {@link #flush()} ({@code fdatasync}) makes every connection's completed writes durable.
 */
public final class FileBlockDevice implements BlockDevice {

	/** Allocation granularity in bytes. */
	public static final int GRANULARITY = 64 * 1024;

	private static final Log logger = LogFactory.getLog(FileBlockDevice.class);

	private static final int MAX_EXTENTS = 65536;

	/** A megabyte of zeroes, shared read-only: duplicate it before use. */
	static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1024 * 1024).asReadOnlyBuffer();

	/** Low bits of {@link #writeState}: writes in progress; high bits: writes started. */
	private static final long ACTIVE_MASK = (1L << 24) - 1;

	private static final long STARTED = 1L << 24;

	private final Path path;

	private final FileChannel channel;

	private final FileLock lock;

	private final long size;

	private final boolean readOnly;

	private final AllocationMap map;

	private final AllocationMapFile mapFile;

	private final AtomicLong writeState = new AtomicLong();

	private volatile boolean mapPersisted;

	private volatile boolean closed;

	FileBlockDevice(Path path, FileChannel channel, FileLock lock, long size, boolean readOnly, AllocationMap map,
			AllocationMapFile mapFile, boolean mapPersisted) {
		this.path = path;
		this.channel = channel;
		this.lock = lock;
		this.size = size;
		this.readOnly = readOnly;
		this.map = map;
		this.mapFile = mapFile;
		this.mapPersisted = mapPersisted;
	}

	/**
	 * Opens an image, creating it sparse at {@code createSize} bytes if it does not
	 * exist. An existing image keeps its own size.
	 * @param path the image file
	 * @param createSize the size of a new image, or a negative value to require an
	 * existing one
	 * @param readOnly whether to open the image read-only (it must then exist)
	 * @throws ImageLockedException if another process (or this one) holds the image
	 * @throws IOException if the image cannot be opened or created
	 */
	public static FileBlockDevice open(Path path, long createSize, boolean readOnly) throws IOException {
		return ImageOpener.open(path, createSize, readOnly);
	}

	public Path path() {
		return this.path;
	}

	@Override
	public long size() {
		return this.size;
	}

	@Override
	public boolean readOnly() {
		return this.readOnly;
	}

	@Override
	public boolean writesLocally() {
		return true;
	}

	/**
	 * Returns the number of bytes in blocks that hold data.
	 */
	public long allocatedBytes() {
		return this.map.allocatedBytes();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		checkOpen();
		readFully(this.channel, dst, offset);
	}

	/**
	 * Copies {@code length} bytes at {@code offset} into {@code target} at its current
	 * position, inside the kernel ({@code sendfile}): the data never passes through a
	 * buffer of this process. The caller owns the target's position.
	 */
	public void copyTo(long offset, long length, FileChannel target) throws IOException {
		checkOpen();
		long done = 0;
		while (done < length) {
			long n = this.channel.transferTo(offset + done, length - done, target);
			if (n <= 0) {
				throw new IOException("Copy of " + this.path + " at " + (offset + done) + " stopped after " + done
						+ " of " + length + " bytes");
			}
			done += n;
		}
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		checkWritable();
		long length = src.remaining();
		beginWrite();
		try {
			this.map.markAllocated(offset, length);
			long position = offset;
			while (src.hasRemaining()) {
				position += this.channel.write(src, position);
			}
		}
		finally {
			this.writeState.decrementAndGet();
		}
		if (fua) {
			this.channel.force(false);
		}
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		checkWritable();
		zero(offset, length, mayTrim, false);
		if (fua) {
			this.channel.force(false);
		}
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		checkWritable();
		zero(offset, length, true, true);
		if (fua) {
			this.channel.force(false);
		}
	}

	/**
	 * Zeroes the allocated blocks in a range and, when {@code punch} is allowed, marks
	 * the whole blocks as holes. Blocks that already are holes are skipped. With
	 * {@code wholeBlocksOnly} (trim), partial blocks at the ends are left alone.
	 */
	private void zero(long offset, long length, boolean punch, boolean wholeBlocksOnly) throws IOException {
		long end = offset + length;
		long firstWhole = (offset + GRANULARITY - 1) / GRANULARITY;
		long endWhole = end / GRANULARITY;
		if (end == this.size) {
			endWhole = this.map.blocks();
		}
		long state = beginWrite();
		boolean alone = (state & ACTIVE_MASK) == 1;
		long punchedFrom = -1;
		long punchedTo = -1;
		try {
			long position = wholeBlocksOnly ? firstWhole * GRANULARITY : offset;
			long limit = wholeBlocksOnly ? Math.min(end, endWhole * GRANULARITY) : end;
			while (position < limit) {
				long block = position / GRANULARITY;
				long next = this.map.nextAllocated(block, (limit + GRANULARITY - 1) / GRANULARITY);
				if (next < 0) {
					break;
				}
				long runStart = Math.max(position, next * GRANULARITY);
				long hole = this.map.nextHole(next, (limit + GRANULARITY - 1) / GRANULARITY);
				long runEnd = (hole < 0) ? limit : Math.min(limit, hole * GRANULARITY);
				writeZeroesAt(runStart, runEnd - runStart);
				position = runEnd;
			}
			if (punch && firstWhole < endWhole) {
				this.map.clearRange(firstWhole, endWhole);
				punchedFrom = firstWhole;
				punchedTo = endWhole;
			}
		}
		finally {
			if (punchedFrom >= 0 && (!alone || this.writeState.get() != state)) {
				// Another write ran meanwhile and may have put data in these blocks.
				this.map.setRange(punchedFrom, punchedTo);
			}
			this.writeState.decrementAndGet();
		}
	}

	private void writeZeroesAt(long offset, long length) throws IOException {
		long position = offset;
		long end = offset + length;
		while (position < end) {
			ByteBuffer zeroes = ZEROES.duplicate();
			zeroes.limit((int) Math.min(zeroes.capacity(), end - position));
			while (zeroes.hasRemaining()) {
				position += this.channel.write(zeroes, position);
			}
		}
	}

	@Override
	public void flush() throws IOException {
		checkOpen();
		this.channel.force(false);
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		checkOpen();
		return this.map.extents(offset, length, MAX_EXTENTS);
	}

	/**
	 * Records the start of a write and returns the new write state. The first write after
	 * opening removes the persisted allocation map, which no longer matches.
	 */
	private long beginWrite() throws IOException {
		if (this.mapPersisted) {
			invalidatePersistedMap();
		}
		return this.writeState.addAndGet(STARTED + 1);
	}

	private synchronized void invalidatePersistedMap() throws IOException {
		if (this.mapPersisted) {
			this.mapFile.invalidate();
			this.mapPersisted = false;
		}
	}

	private void checkOpen() throws IOException {
		if (this.closed) {
			throw new ClosedChannelException();
		}
	}

	private void checkWritable() throws IOException {
		checkOpen();
		if (this.readOnly) {
			throw new IOException("Image " + this.path + " is read-only");
		}
	}

	/**
	 * Flushes the image, stores the allocation map beside it and releases the lock.
	 */
	@Override
	public synchronized void close() throws IOException {
		if (this.closed) {
			return;
		}
		this.closed = true;
		try {
			if (!this.readOnly) {
				this.channel.force(true);
			}
			if (!this.mapPersisted) {
				try {
					this.mapFile.store(this.map, this.size, Files.getLastModifiedTime(this.path));
					this.mapPersisted = true;
				}
				catch (IOException ex) {
					logger.warn("Could not store the allocation map of " + this.path
							+ "; it will be rebuilt on the next open", ex);
				}
			}
		}
		finally {
			try {
				if (this.lock.isValid()) {
					this.lock.release();
				}
			}
			finally {
				// Closes the RandomAccessFile too.
				this.channel.close();
			}
		}
	}

	@Override
	public String toString() {
		return "FileBlockDevice[" + this.path + ", " + this.size + " bytes" + (this.readOnly ? ", read-only]" : "]");
	}

	/**
	 * Fills {@code dst} from {@code offset}; past the end of the file it reads zeroes.
	 */
	static void readFully(FileChannel channel, ByteBuffer dst, long offset) throws IOException {
		long position = offset;
		while (dst.hasRemaining()) {
			int read = channel.read(dst, position);
			if (read < 0) {
				// Past the end of the file: the rest reads as zeroes.
				while (dst.hasRemaining()) {
					dst.put((byte) 0);
				}
				return;
			}
			position += read;
		}
	}

	/**
	 * Thrown when an image is already locked by another process or by this one.
	 */
	public static final class ImageLockedException extends IOException {

		private static final long serialVersionUID = 1L;

		ImageLockedException(Path path, String reason) {
			super("Image " + path + " is in use: " + reason);
		}

	}

}
