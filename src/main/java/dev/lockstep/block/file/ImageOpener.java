package dev.lockstep.block.file;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.block.file.FileBlockDevice.ImageLockedException;

import static dev.lockstep.block.file.FileBlockDevice.GRANULARITY;
import static dev.lockstep.block.file.FileBlockDevice.ZEROES;

/**
 * Opens the image of a {@link FileBlockDevice}: creates it sparse if asked to, locks it,
 * and loads its {@link AllocationMap} from the sidecar file or rebuilds it by scanning
 * the image.
 */
final class ImageOpener {

	/** Logs as the device: a scan is part of opening one. */
	private static final Log logger = LogFactory.getLog(FileBlockDevice.class);

	private ImageOpener() {
	}

	/**
	 * Opens an image; see {@link FileBlockDevice#open(Path, long, boolean)}.
	 */
	static FileBlockDevice open(Path path, long createSize, boolean readOnly) throws IOException {
		Path absolute = path.toAbsolutePath().normalize();
		boolean exists = Files.exists(absolute);
		if (!exists && (readOnly || createSize < 0)) {
			throw new NoSuchFileException(absolute.toString(), null,
					readOnly ? "a read-only image must exist" : "image does not exist");
		}
		if (!exists) {
			Path parent = absolute.getParent();
			if (parent != null) {
				Files.createDirectories(parent);
			}
		}
		RandomAccessFile file;
		try {
			file = new RandomAccessFile(absolute.toFile(), readOnly ? "r" : "rw");
		}
		catch (FileNotFoundException ex) {
			throw new IOException("Cannot open image " + absolute + ": " + ex.getMessage(), ex);
		}
		// An interrupt cannot close this channel, so it cannot drop the lock either.
		FileChannel channel = DiskFiles.open(file);
		try {
			FileLock lock = lock(channel, absolute, readOnly);
			boolean created = !exists && channel.size() == 0;
			if (created) {
				file.setLength(createSize);
				channel.force(true);
			}
			long size = channel.size();
			AllocationMap map = new AllocationMap(size, GRANULARITY);
			AllocationMapFile mapFile = new AllocationMapFile(absolute);
			boolean persisted = false;
			if (!created) {
				persisted = mapFile.load(map, size, Files.getLastModifiedTime(absolute));
				if (!persisted) {
					scan(channel, map, absolute);
				}
			}
			return new FileBlockDevice(absolute, channel, lock, size, readOnly, map, mapFile, persisted);
		}
		catch (IOException | RuntimeException ex) {
			channel.close();
			throw ex;
		}
	}

	private static FileLock lock(FileChannel channel, Path path, boolean shared) throws IOException {
		FileLock lock;
		try {
			lock = channel.tryLock(0, Long.MAX_VALUE, shared);
		}
		catch (OverlappingFileLockException ex) {
			throw new ImageLockedException(path, "it is already open in this process");
		}
		if (lock == null) {
			throw new ImageLockedException(path, "another process holds its lock (is another Lockstep serving it?)");
		}
		return lock;
	}

	/**
	 * Builds the allocation map of an existing image by reading it and treating all-zero
	 * blocks as holes. Holes of a sparse file read fast, so this costs roughly one read
	 * of the data actually stored.
	 */
	private static void scan(FileChannel channel, AllocationMap map, Path path) throws IOException {
		long started = System.nanoTime();
		long size = map.size();
		int chunk = 16 * GRANULARITY;
		ByteBuffer buffer = ByteBuffer.allocateDirect(chunk);
		ByteBuffer zero = ZEROES.duplicate().limit(GRANULARITY).slice();
		for (long position = 0; position < size; position += chunk) {
			buffer.clear().limit((int) Math.min(chunk, size - position));
			FileBlockDevice.readFully(channel, buffer, position);
			buffer.flip();
			for (int at = 0; at < buffer.limit(); at += GRANULARITY) {
				int length = Math.min(GRANULARITY, buffer.limit() - at);
				if (buffer.slice(at, length).mismatch(zero.slice(0, length)) >= 0) {
					map.markAllocated(position + at, length);
				}
			}
		}
		logger.info(String.format("Scanned allocation of %s (%d bytes, %d allocated) in %d ms", path, size,
				map.allocatedBytes(), (System.nanoTime() - started) / 1_000_000));
	}

}
