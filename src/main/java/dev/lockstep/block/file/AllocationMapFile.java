package dev.lockstep.block.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.zip.CRC32C;

/**
 * The sidecar file that keeps an image's {@link AllocationMap} across restarts. It is
 * written only when the image is closed cleanly and removed before the first write after
 * opening, so a present file that matches the image's size and modification time
 * describes the image exactly; anything else is ignored and the map is rebuilt by
 * scanning.
 */
final class AllocationMapFile {

	private static final long MAGIC = 0x4c53414c4c4f4331L; // "LSALLOC1"

	private static final int HEADER_SIZE = 8 + 4 + 4 + 8 + 8 + 4 + 4;

	private final Path path;

	AllocationMapFile(Path image) {
		this.path = image.resolveSibling(image.getFileName() + ".allocmap");
	}

	Path path() {
		return this.path;
	}

	/**
	 * Loads the map if the sidecar exists and matches the image; returns whether it did.
	 */
	boolean load(AllocationMap map, long imageSize, FileTime imageModified) {
		if (!Files.isRegularFile(this.path)) {
			return false;
		}
		try (FileChannel channel = DiskFiles.open(this.path, StandardOpenOption.READ)) {
			long fileSize = channel.size();
			long expectedWords = (map.blocks() + 63) >>> 6;
			if (fileSize != HEADER_SIZE + expectedWords * 8 + 4) {
				return false;
			}
			ByteBuffer buffer = ByteBuffer.allocate((int) fileSize);
			while (buffer.hasRemaining() && channel.read(buffer) >= 0) {
			}
			buffer.flip();
			CRC32C crc = new CRC32C();
			crc.update(buffer.duplicate().limit(buffer.limit() - 4));
			if ((int) crc.getValue() != buffer.getInt(buffer.limit() - 4)) {
				return false;
			}
			Instant modified = imageModified.toInstant();
			if (buffer.getLong() != MAGIC || buffer.getInt() != 1 || buffer.getInt() != map.granularity()
					|| buffer.getLong() != imageSize || buffer.getLong() != modified.getEpochSecond()
					|| buffer.getInt() != modified.getNano()) {
				return false;
			}
			buffer.getInt();
			long[] words = new long[(int) expectedWords];
			buffer.asLongBuffer().get(words);
			map.load(words);
			return true;
		}
		catch (IOException | RuntimeException ex) {
			return false;
		}
	}

	/**
	 * Writes the map for an image of the given size and modification time, atomically
	 * replacing any previous sidecar.
	 */
	void store(AllocationMap map, long imageSize, FileTime imageModified) throws IOException {
		long[] words = map.snapshot();
		ByteBuffer buffer = ByteBuffer.allocate(HEADER_SIZE + words.length * 8 + 4);
		Instant modified = imageModified.toInstant();
		buffer.putLong(MAGIC)
			.putInt(1)
			.putInt(map.granularity())
			.putLong(imageSize)
			.putLong(modified.getEpochSecond())
			.putInt(modified.getNano())
			.putInt(0);
		buffer.asLongBuffer().put(words);
		buffer.position(buffer.position() + words.length * 8);
		CRC32C crc = new CRC32C();
		crc.update(buffer.duplicate().flip());
		buffer.putInt((int) crc.getValue());
		buffer.flip();
		Path temporary = this.path.resolveSibling(this.path.getFileName() + ".tmp");
		try (FileChannel channel = DiskFiles.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
				StandardOpenOption.TRUNCATE_EXISTING)) {
			while (buffer.hasRemaining()) {
				channel.write(buffer);
			}
			channel.force(true);
		}
		try {
			Files.move(temporary, this.path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
		}
		catch (AtomicMoveNotSupportedException ex) {
			Files.move(temporary, this.path, StandardCopyOption.REPLACE_EXISTING);
		}
		syncDirectory();
	}

	/**
	 * Removes the sidecar durably, so that a crash cannot leave a stale map.
	 */
	void invalidate() throws IOException {
		if (Files.deleteIfExists(this.path)) {
			syncDirectory();
		}
	}

	private void syncDirectory() {
		Path directory = this.path.toAbsolutePath().getParent();
		if (directory == null) {
			return;
		}
		try (FileChannel channel = DiskFiles.open(directory, StandardOpenOption.READ)) {
			channel.force(true);
		}
		catch (IOException ex) {
			// Not every platform can sync a directory; the rename is still atomic.
		}
	}

}
