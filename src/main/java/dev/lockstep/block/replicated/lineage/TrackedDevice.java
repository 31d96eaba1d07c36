package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import dev.lockstep.block.BlockDevice;

/**
 * The layer right above a disk's image through which every write reaches it, whatever the
 * disk's role: it tells the {@link DiskLineage} before each write, which logs the write's
 * extent in the activity log if it is not logged yet and, while writes diverge from the
 * peer's, marks its chunks dirty. Reads and flushes pass straight through.
 */
final class TrackedDevice implements BlockDevice {

	private final BlockDevice image;

	private final DiskLineage lineage;

	TrackedDevice(BlockDevice image, DiskLineage lineage) {
		this.image = image;
		this.lineage = lineage;
	}

	@Override
	public long size() {
		return this.image.size();
	}

	@Override
	public boolean readOnly() {
		return this.image.readOnly();
	}

	@Override
	public boolean writesLocally() {
		return this.image.writesLocally();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		this.image.read(offset, dst);
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		this.lineage.beforeWrite(offset, src.remaining());
		this.image.write(offset, src, fua);
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		this.lineage.beforeWrite(offset, length);
		this.image.writeZeroes(offset, length, mayTrim, fua);
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		this.lineage.beforeWrite(offset, length);
		this.image.trim(offset, length, fua);
	}

	@Override
	public void flush() throws IOException {
		this.image.flush();
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		return this.image.allocation(offset, length);
	}

	@Override
	public void close() throws IOException {
		this.image.close();
	}

}
