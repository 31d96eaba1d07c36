package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Reads a disk's lineage from the files beside its image and decides how far to trust it:
 * a record that is missing, unreadable, of another disk or size, or kept for an image
 * that changed or was replaced while Lockstep was not running starts a new lineage that
 * claims nothing; a bitmap that does not match its record makes every chunk suspect; and
 * after an unclean shutdown, so does every extent of the activity log.
 */
final class LineageLoader {

	private static final Log logger = LogFactory.getLog(LineageLoader.class);

	private LineageLoader() {
	}

	/**
	 * What was loaded.
	 *
	 * @param record the record to go on from
	 * @param dirty the chunks that changed since the nodes last agreed
	 * @param suspect the chunks in doubt
	 * @param note why the next synchronisation compares every chunk, or empty
	 */
	record Loaded(LineageRecord record, DirtyChunks dirty, DirtyChunks suspect, String note) {
	}

	/**
	 * Loads the lineage of a disk, or begins a new one that claims nothing.
	 * @param disk the disk's name
	 * @param files the files beside its image
	 * @param size the disk's size in bytes
	 * @return what to go on from
	 * @throws IOException if the bitmap cannot be read
	 */
	static Loaded load(String disk, LineageFiles files, long size) throws IOException {
		DirtyChunks dirty = new DirtyChunks(size);
		DirtyChunks suspect = new DirtyChunks(size);
		LineageRecord loaded = null;
		String distrust;
		try {
			Optional<String> text = files.readRecord();
			if (text.isEmpty()) {
				distrust = "it has no lineage file " + files.record() + " yet";
			}
			else {
				loaded = LineageRecord.decode(text.get());
				distrust = distrust(loaded, disk, size, files);
			}
		}
		catch (IllegalArgumentException ex) {
			distrust = "its lineage file " + files.record() + " is unreadable: " + ex.getMessage();
		}
		LineageRecord start;
		String note;
		if (loaded == null || distrust != null) {
			start = new LineageRecord(disk, size, Generation.next(), null, List.of(), true, false, false, List.of(),
					null, "");
			note = distrust + "; the next synchronisation compares every chunk";
			if (loaded != null) {
				logger.warn("Disk '" + disk + "': lineage not trusted: " + note);
			}
			else {
				logger.info("Disk '" + disk + "': new lineage, generation " + start.current() + ": " + note);
			}
		}
		else {
			start = loaded;
			note = (loaded.agreed() != null) ? ""
					: "no synchronisation has completed since its lineage began; the next one compares every chunk";
			readBitmaps(disk, files, loaded, dirty, suspect, size);
			if (!loaded.clean() && !loaded.activity().isEmpty()) {
				ActivityLog.markChunks(loaded.activity(), suspect, size);
				logger.warn("Disk '" + disk + "': the last shutdown was not clean; the " + loaded.activity().size()
						+ " extents of its activity log ("
						+ ((loaded.activity().size() * ActivityLog.EXTENT_SIZE) >> 20)
						+ " MiB) will be compared with the peer");
			}
		}
		return new Loaded(start, dirty, suspect, note);
	}

	private static @Nullable String distrust(LineageRecord loaded, String disk, long size, LineageFiles files) {
		if (!loaded.disk().equals(disk) || loaded.size() != size) {
			return "its lineage file " + files.record() + " describes disk '" + loaded.disk() + "' of " + loaded.size()
					+ " bytes, not '" + disk + "' of " + size + " bytes";
		}
		if (loaded.clean() && !Objects.equals(loaded.image(), stamp(files))) {
			return "its image changed while Lockstep was not running (its size, modification time or file differ "
					+ "from those recorded at the clean shutdown)";
		}
		LineageRecord.ImageStamp recorded = loaded.image();
		LineageRecord.ImageStamp now = (!loaded.clean() && recorded != null) ? stamp(files) : null;
		if (recorded != null && now != null && !recorded.key().equals(now.key())) {
			return "its image file was replaced after an unclean shutdown (it is not the file the lineage was "
					+ "kept for)";
		}
		return null;
	}

	/**
	 * The image file as it is now, or {@code null} if it cannot be examined (no file at
	 * that path, as for an in-memory device).
	 */
	static LineageRecord.@Nullable ImageStamp stamp(LineageFiles files) {
		try {
			return files.stamp();
		}
		catch (IOException ex) {
			return null;
		}
	}

	private static void readBitmaps(String disk, LineageFiles files, LineageRecord loaded, DirtyChunks dirty,
			DirtyChunks suspect, long size) throws IOException {
		int length = DirtyChunks.byteLength(size);
		Optional<byte[]> bytes = files.readBitmap();
		if (bytes.isPresent() && bytes.get().length == 2 * length
				&& LineageRecord.sha256(bytes.get()).equals(loaded.bitmap())) {
			dirty.addBytes(bytes.get(), 0);
			suspect.addBytes(bytes.get(), length);
			return;
		}
		suspect.markAll();
		logger.warn("Disk '" + disk + "': its bitmap " + files.bitmap()
				+ " is missing or does not match its lineage file; every chunk will be compared with the peer");
	}

}
