package dev.lockstep.block.replicated.lineage;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One node's lineage of a disk as a synchronisation compares it: the record, the chunks
 * it changed since the nodes last agreed, and the chunks a crash left in doubt. A
 * secondary serves it on its {@code <disk>.replica.lineage} export in the layout of
 * {@link #encode()}.
 *
 * @param record the lineage record
 * @param dirty the chunks changed since the agreed generation
 * @param suspect the chunks that may differ after a crash
 * @param note why the lineage cannot be trusted, or {@code ""}
 */
public record LineageView(LineageRecord record, DirtyChunks dirty, DirtyChunks suspect, String note) {

	/** The bytes before the bitmaps in the encoded form: the header's text, padded. */
	static final int HEADER = 8192;

	/** The size of the encoded form for a disk of {@code size} bytes. */
	public static long encodedSize(long size) {
		return HEADER + 2L * pad(DirtyChunks.byteLength(size));
	}

	/**
	 * Encodes the view: a {@code note=} line and the record's text (without its activity
	 * log), zero-padded to {@value #HEADER} bytes; then the dirty bitmap and the suspect
	 * bitmap, each zero-padded to a multiple of 4 KiB.
	 */
	public byte[] encode() {
		long size = this.record.size();
		byte[] bytes = new byte[(int) encodedSize(size)];
		byte[] header = ("note=" + this.note.replace('\n', ' ') + "\n" + this.record.withActivity(List.of()).encode())
			.getBytes(StandardCharsets.UTF_8);
		if (header.length > HEADER) {
			throw new IllegalStateException("A lineage header of " + header.length + " bytes does not fit");
		}
		System.arraycopy(header, 0, bytes, 0, header.length);
		byte[] dirtyBytes = this.dirty.toBytes();
		System.arraycopy(dirtyBytes, 0, bytes, HEADER, dirtyBytes.length);
		byte[] suspectBytes = this.suspect.toBytes();
		System.arraycopy(suspectBytes, 0, bytes, HEADER + pad(dirtyBytes.length), suspectBytes.length);
		return bytes;
	}

	/**
	 * Decodes what {@link #encode()} made.
	 * @param bytes the encoded view
	 * @param size the disk's size, which the record must name
	 * @throws IllegalArgumentException if the bytes are not a whole view of such a disk
	 */
	public static LineageView decode(byte[] bytes, long size) {
		if (bytes.length != encodedSize(size)) {
			throw new IllegalArgumentException(
					"it has " + bytes.length + " bytes, not the " + encodedSize(size) + " of a disk of " + size);
		}
		int end = 0;
		while (end < HEADER && bytes[end] != 0) {
			end++;
		}
		String header = new String(bytes, 0, end, StandardCharsets.UTF_8);
		int newline = header.indexOf('\n');
		if (!header.startsWith("note=") || newline < 0) {
			throw new IllegalArgumentException("its header does not begin with a note line");
		}
		LineageRecord record = LineageRecord.decode(header.substring(newline + 1));
		if (record.size() != size) {
			throw new IllegalArgumentException("it describes a disk of " + record.size() + " bytes, not " + size);
		}
		DirtyChunks dirty = new DirtyChunks(size);
		dirty.addBytes(bytes, HEADER);
		DirtyChunks suspect = new DirtyChunks(size);
		suspect.addBytes(bytes, HEADER + pad(DirtyChunks.byteLength(size)));
		return new LineageView(record, dirty, suspect, header.substring("note=".length(), newline));
	}

	private static int pad(int length) {
		return (length + 4095) & ~4095;
	}

}
