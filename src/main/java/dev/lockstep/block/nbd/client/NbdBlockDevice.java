package dev.lockstep.block.nbd.client;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import dev.lockstep.block.BlockDevice;

/**
 * A {@link BlockDevice} view of a remote export through an {@link NbdClient}: each call
 * sends one request (split at the server's maximum block size) and waits for its reply.
 * Calls from many threads are pipelined on the one connection. Closing the device closes
 * the client.
 */
public final class NbdBlockDevice implements BlockDevice {

	private final NbdClient client;

	public NbdBlockDevice(NbdClient client) {
		this.client = client;
	}

	public NbdClient client() {
		return this.client;
	}

	@Override
	public long size() {
		return this.client.size();
	}

	@Override
	public boolean readOnly() {
		return this.client.info().readOnly();
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		int max = this.client.info().maximumBlockSize();
		while (dst.hasRemaining()) {
			int length = Math.min(max, dst.remaining());
			ByteBuffer part = dst.slice(dst.position(), length);
			await(this.client.read(offset, part));
			dst.position(dst.position() + length);
			offset += length;
		}
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		int max = this.client.info().maximumBlockSize();
		while (src.hasRemaining()) {
			int length = Math.min(max, src.remaining());
			boolean last = length == src.remaining();
			await(this.client.write(offset, src.slice(src.position(), length), fua && last));
			src.position(src.position() + length);
			offset += length;
		}
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		for (long done = 0; done < length;) {
			long part = Math.min(length - done, 1L << 30);
			await(this.client.writeZeroes(offset + done, part, mayTrim, fua && done + part == length));
			done += part;
		}
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		for (long done = 0; done < length;) {
			long part = Math.min(length - done, 1L << 30);
			await(this.client.trim(offset + done, part, fua && done + part == length));
			done += part;
		}
	}

	@Override
	public void flush() throws IOException {
		await(this.client.flush());
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		if (!this.client.info().blockStatus()) {
			return List.of(new Extent(Math.min(length, size() - offset), false, false));
		}
		return await(this.client.blockStatus(offset, Math.min(length, 0xFFFF_FFFFL)));
	}

	@Override
	public void close() {
		this.client.close();
	}

	private static <T> T await(CompletableFuture<T> future) throws IOException {
		try {
			return future.get();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new InterruptedIOException("Interrupted while waiting for the NBD server");
		}
		catch (ExecutionException ex) {
			Throwable cause = (ex.getCause() != null) ? ex.getCause() : ex;
			if (cause instanceof IOException io) {
				throw io;
			}
			throw new IOException(cause.getMessage(), cause);
		}
	}

	@Override
	public String toString() {
		return "NbdBlockDevice[" + this.client.target() + "]";
	}

}
