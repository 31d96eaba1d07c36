package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import dev.lockstep.block.BlockDevice;

/**
 * The device behind a secondary's {@code <disk>.replica.lineage} export: reads return the
 * secondary's {@link LineageView} as it is at the moment of the read, and the
 * synchronising primary writes its generation to the first bytes
 * ({@link #offer(Generation)}), which the secondary takes when the synchronisation
 * completes.
 */
public final class LineageDevice implements BlockDevice {

	/** The bytes a primary writes its offer into, at offset 0. */
	public static final int OFFER_SIZE = 4096;

	private static final String OFFER = "offer=";

	private final DiskLineage lineage;

	private final long size;

	public LineageDevice(DiskLineage lineage) {
		this.lineage = lineage;
		this.size = LineageView.encodedSize(lineage.record().size());
	}

	/** The block a primary writes to offer its generation. */
	public static ByteBuffer offer(Generation generation) {
		byte[] block = new byte[OFFER_SIZE];
		byte[] text = (OFFER + generation.encode() + "\n").getBytes(StandardCharsets.UTF_8);
		System.arraycopy(text, 0, block, 0, text.length);
		return ByteBuffer.wrap(block);
	}

	@Override
	public long size() {
		return this.size;
	}

	@Override
	public boolean readOnly() {
		return false;
	}

	@Override
	public void read(long offset, ByteBuffer dst) {
		byte[] bytes = this.lineage.view().encode();
		dst.put(bytes, (int) offset, dst.remaining());
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		if (offset != 0 || src.remaining() != OFFER_SIZE) {
			throw new IOException("a lineage export takes only a " + OFFER_SIZE + "-byte offer at offset 0");
		}
		byte[] block = new byte[OFFER_SIZE];
		src.get(block);
		int end = 0;
		while (end < block.length && block[end] != 0) {
			end++;
		}
		String text = new String(block, 0, end, StandardCharsets.UTF_8).strip();
		if (!text.startsWith(OFFER)) {
			throw new IOException("a lineage offer begins with '" + OFFER + "'");
		}
		try {
			this.lineage.offered(Generation.decode(text.substring(OFFER.length())));
		}
		catch (IllegalArgumentException ex) {
			throw new IOException("a lineage offer names no generation: " + ex.getMessage(), ex);
		}
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		throw new IOException("a lineage export takes only an offer");
	}

	@Override
	public void trim(long offset, long length, boolean fua) {
	}

	@Override
	public void flush() {
	}

	@Override
	public List<Extent> allocation(long offset, long length) {
		return List.of(new Extent(Math.min(length, this.size - offset), false, false));
	}

	@Override
	public void close() {
	}

}
