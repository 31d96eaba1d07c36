package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.Lock;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.layer.FaultClass;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.overlay.ClusterOverlay;
import dev.lockstep.block.overlay.OverlayDevice;
import dev.lockstep.block.overlay.Stripes;

import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SHIFT;
import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SIZE;

/**
 * The hidden overlay over the base: the backing of a {@code colo} secondary's active
 * overlay. Read-only; a read of a cluster takes the cluster's lock, so that it never sees
 * a base cluster half-way through a copy-before-write.
 */
final class HiddenView implements BlockDevice {

	private final BlockDevice base;

	private final ClusterOverlay hidden;

	private final Stripes stripes;

	private final Faults faults;

	HiddenView(BlockDevice base, ClusterOverlay hidden, Stripes stripes, Faults faults) {
		this.base = base;
		this.hidden = hidden;
		this.stripes = stripes;
		this.faults = faults;
	}

	@Override
	public long size() {
		return this.base.size();
	}

	@Override
	public boolean readOnly() {
		return true;
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		long end = offset + dst.remaining();
		long pos = offset;
		while (pos < end) {
			long cluster = pos >>> CLUSTER_SHIFT;
			long clusterEnd = Math.min(end, (cluster + 1) << CLUSTER_SHIFT);
			int length = (int) (clusterEnd - pos);
			ByteBuffer part = dst.duplicate();
			part.limit(part.position() + length);
			Lock lock = this.stripes.of(cluster).readLock();
			lock.lock();
			try {
				if (!this.hidden.read(cluster, (int) (pos & (CLUSTER_SIZE - 1)), part)) {
					try {
						this.base.read(pos, part);
					}
					catch (IOException ex) {
						throw this.faults.recordIo(FaultClass.BASE_IO, "read", pos, ex);
					}
				}
			}
			finally {
				lock.unlock();
			}
			dst.position(dst.position() + length);
			pos = clusterEnd;
		}
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		throw new IOException("The hidden overlay is written by copy-before-write only");
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		throw new IOException("The hidden overlay is written by copy-before-write only");
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		throw new IOException("The hidden overlay is written by copy-before-write only");
	}

	@Override
	public void flush() throws IOException {
		try {
			this.base.flush();
		}
		catch (IOException ex) {
			throw this.faults.recordIo(FaultClass.BASE_IO, "flush", 0, ex);
		}
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		try {
			return OverlayDevice.allocation(this.hidden, this.base, offset, length);
		}
		catch (IOException ex) {
			throw this.faults.recordIo(FaultClass.BASE_IO, "block status", offset, ex);
		}
	}

	@Override
	public void close() {
	}

}
