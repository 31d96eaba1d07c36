package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

import dev.lockstep.block.file.DiskFiles;

/**
 * The two files beside a disk's image that keep its lineage: {@code <image>.lineage}, the
 * {@link LineageRecord} as text, and {@code <image>.bitmap}, the chunk bitmaps. Each is
 * replaced atomically: written to a temporary file, synced, renamed over the old one, and
 * the directory synced, so that a crash at any moment leaves the old file or the new one,
 * never a mix.
 */
final class LineageFiles {

	private final Path image;

	private final Path record;

	private final Path bitmap;

	LineageFiles(Path image) {
		this.image = image;
		this.record = image.resolveSibling(image.getFileName() + ".lineage");
		this.bitmap = image.resolveSibling(image.getFileName() + ".bitmap");
	}

	Path record() {
		return this.record;
	}

	Path bitmap() {
		return this.bitmap;
	}

	/** The record file's text, or empty if there is none. */
	Optional<String> readRecord() throws IOException {
		try {
			return Optional.of(Files.readString(this.record, StandardCharsets.UTF_8));
		}
		catch (NoSuchFileException ex) {
			return Optional.empty();
		}
	}

	/** The bitmap file's bytes, or empty if there is none. */
	Optional<byte[]> readBitmap() throws IOException {
		try {
			return Optional.of(Files.readAllBytes(this.bitmap));
		}
		catch (NoSuchFileException ex) {
			return Optional.empty();
		}
	}

	void writeRecord(LineageRecord lineage) throws IOException {
		replace(this.record, lineage.encode().getBytes(StandardCharsets.UTF_8));
	}

	void writeBitmap(byte[] bytes) throws IOException {
		replace(this.bitmap, bytes);
	}

	/** The image file as it is now. */
	LineageRecord.ImageStamp stamp() throws IOException {
		BasicFileAttributes attributes = Files.readAttributes(this.image, BasicFileAttributes.class);
		Object key = attributes.fileKey();
		return new LineageRecord.ImageStamp(attributes.size(),
				attributes.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS),
				(key != null) ? key.toString() : "");
	}

	private static void replace(Path target, byte[] bytes) throws IOException {
		Path temporary = target.resolveSibling("." + target.getFileName() + ".new");
		try (FileChannel channel = DiskFiles.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
				StandardOpenOption.TRUNCATE_EXISTING)) {
			ByteBuffer buffer = ByteBuffer.wrap(bytes);
			while (buffer.hasRemaining()) {
				channel.write(buffer);
			}
			channel.force(true);
		}
		Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
		Path directory = target.toAbsolutePath().getParent();
		if (directory != null) {
			try (FileChannel channel = DiskFiles.open(directory, StandardOpenOption.READ)) {
				channel.force(true);
			}
		}
	}

}
