package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.replicated.protocol.PeerProtocol;

/**
 * The lineage of one disk, kept beside its image ({@link LineageFiles}): its generations,
 * the chunks that changed since the two nodes last agreed ({@link #dirty()}), the chunks
 * a crash left in doubt ({@link #suspect()}) and the activity log that lets a crash leave
 * nothing else in doubt. Every write to the image passes {@link #track(BlockDevice)}.
 *
 * <p>
 * Generations follow DRBD's: a node draws a new one the first time its data differs from
 * what its peer could know, that is before the first write the peer does not get
 * ({@link Tracking#DIVERGING}, or a forwarded write that failed), and at every failover.
 * Both nodes take the primary's generation as their agreed one when a synchronisation
 * completes. {@link SyncPlanner} compares two nodes' records.
 *
 * <p>
 * Thread-safe. Lifecycle calls are serialised by the caller; writes come from any thread.
 */
public final class DiskLineage {

	private static final Log logger = LogFactory.getLog(DiskLineage.class);

	/** Logged extents past which a checkpoint empties the activity log. */
	static final int ACTIVITY_LIMIT = 16;

	/** What the writes that reach the image now are to the peer. */
	public enum Tracking {

		/**
		 * Part of the replicated stream: a primary's forwarded writes, a secondary's
		 * writes from its primary. They are only logged in the activity log.
		 */
		AGREED,

		/**
		 * This node's alone: each write marks its chunks dirty, and the first starts a
		 * new generation.
		 */
		DIVERGING

	}

	private final String disk;

	private final long size;

	private final LineageFiles files;

	private final DirtyChunks dirty;

	private final DirtyChunks suspect;

	private final ActivityLog activity;

	private final Object monitor = new Object();

	private volatile LineageRecord record;

	/** Why the lineage cannot be trusted, while its agreed generation is unknown. */
	private volatile String note;

	private volatile Tracking tracking = Tracking.DIVERGING;

	private volatile boolean closed;

	private volatile @Nullable Generation offered;

	private DiskLineage(String disk, long size, LineageFiles files, DirtyChunks dirty, DirtyChunks suspect,
			LineageRecord record, String note) {
		this.disk = disk;
		this.size = size;
		this.files = files;
		this.dirty = dirty;
		this.suspect = suspect;
		this.activity = new ActivityLog(size);
		this.record = record;
		this.note = note;
	}

	/**
	 * Loads the lineage of a disk from the files beside its image, or begins a new one
	 * that claims nothing if they are missing, unreadable or do not fit the image. After
	 * an unclean shutdown every chunk of the activity log becomes suspect. Saves the
	 * result, marked as not shut down cleanly, before it returns.
	 * @param disk the disk's name
	 * @param image the image's path
	 * @param size the disk's size in bytes
	 * @param readOnly whether the disk is read-only: then files that cannot be written
	 * are only logged
	 * @return the lineage
	 * @throws IOException if the files of a writable disk cannot be written
	 */
	public static DiskLineage open(String disk, Path image, long size, boolean readOnly) throws IOException {
		LineageFiles files = new LineageFiles(image);
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
		DiskLineage lineage = new DiskLineage(disk, size, files, dirty, suspect, start, note);
		synchronized (lineage.monitor) {
			try {
				LineageRecord.ImageStamp now = stamp(files);
				lineage.save(start.withFlags(start.consistent(), start.discard(), false), List.of(),
						(now != null) ? now : start.image());
			}
			catch (IOException ex) {
				String problem = "Disk '" + disk + "': cannot keep its data lineage in " + files.record() + " and "
						+ files.bitmap() + ": " + ex.getMessage();
				if (!readOnly) {
					throw new IOException(problem + ". Lockstep keeps these files beside each writable image: make "
							+ "the image's directory writable", ex);
				}
				// Nothing writes to a read-only disk; replicating it fails when the
				// lineage must change.
				logger.warn(problem + "; the disk is read-only, so it is served anyway");
			}
		}
		return lineage;
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
	private static LineageRecord.@Nullable ImageStamp stamp(LineageFiles files) {
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

	/** The disk's name. */
	public String disk() {
		return this.disk;
	}

	/** The device through which every write reaches {@code image}. */
	public BlockDevice track(BlockDevice image) {
		return new TrackedDevice(image, this);
	}

	/** Says what the writes that reach the image from now on are to the peer. */
	public void tracking(Tracking mode) {
		this.tracking = mode;
	}

	/**
	 * The chunks that changed since the nodes last agreed; a synchronisation copies them.
	 */
	public DirtyChunks dirty() {
		return this.dirty;
	}

	/** The chunks a crash left in doubt; a synchronisation compares them. */
	public DirtyChunks suspect() {
		return this.suspect;
	}

	/** The record as it is now. */
	public LineageRecord record() {
		return this.record;
	}

	/** What the peer needs to compare lineages: the record and both bitmaps, copied. */
	public LineageView view() {
		DirtyChunks dirtyNow = new DirtyChunks(this.size);
		dirtyNow.add(this.dirty);
		DirtyChunks suspectNow = new DirtyChunks(this.size);
		suspectNow.add(this.suspect);
		return new LineageView(this.record, dirtyNow, suspectNow, this.note);
	}

	/** The lineage as the disk's status shows it. Cheap; never blocks on I/O. */
	public LineageStatus status() {
		LineageRecord now = this.record;
		Generation agreed = now.agreed();
		Generation divergedAt = now.divergedAt();
		String why = this.note;
		return new LineageStatus(now.current().id(), now.current().since(), (agreed != null) ? agreed.id() : null,
				(divergedAt != null) ? divergedAt.since() : null, agreed != null && now.consistent(),
				why.isEmpty() ? null : why, now.consistent(), now.discard(), this.activity.bytes(),
				this.suspect.count() * PeerProtocol.CHUNK_SIZE);
	}

	/** Called before each write reaches the image; see {@link TrackedDevice}. */
	void beforeWrite(long offset, long length) throws IOException {
		if (this.closed) {
			reopen();
		}
		// While a synchronisation into this disk runs, every chunk is in doubt anyway: a
		// crash leaves the lineage inconsistent and the next synchronisation compares
		// all of them, so the log would only cost the synchronisation a sync per extent.
		if (this.record.consistent() && !this.activity.covers(offset, length)) {
			logActivity(offset, length);
		}
		if (this.tracking == Tracking.DIVERGING) {
			diverged(offset, length);
		}
	}

	/**
	 * Records a write that the peer does not get: starts a new generation if the data did
	 * not differ from the peer's yet, durably, then marks the write's chunks dirty. Call
	 * it before the write is acknowledged.
	 * @param offset where the write begins
	 * @param length its length
	 * @throws IOException if the new generation could not be saved; the write must then
	 * fail
	 */
	public void diverged(long offset, long length) throws IOException {
		LineageRecord current = this.record;
		if (current.agreed() == null) {
			// Nothing is known to be in sync: the next synchronisation compares every
			// chunk, and a chunk marked here would be copied without comparing it.
			return;
		}
		if (!current.diverged()) {
			synchronized (this.monitor) {
				if (this.record.agreed() != null && !this.record.diverged()) {
					LineageRecord next = this.record.withCurrent(Generation.next());
					writeRecord(next);
					logger.info("Disk '" + this.disk + "': its data now differs from its peer's; generation "
							+ next.current() + " follows " + next.agreed());
				}
			}
		}
		this.dirty.mark(offset, length);
	}

	/**
	 * Starts a new generation, as every failover does, so that the other node can never
	 * silently become a synchronisation source again; from then on writes diverge.
	 * @param why what happened, for the log
	 */
	public void newGeneration(String why) throws IOException {
		synchronized (this.monitor) {
			LineageRecord next = this.record.withCurrent(Generation.next());
			writeRecord(next);
			this.tracking = Tracking.DIVERGING;
			logger.info("Disk '" + this.disk + "': " + why + "; generation " + next.current() + " follows "
					+ next.history().get(0));
		}
	}

	/**
	 * This node starts as secondary; with {@code discard} it lets the primary overwrite
	 * its own changes (DRBD's {@code --discard-my-data}) until a synchronisation
	 * completes. The caller sets {@link Tracking#AGREED} once only the primary writes to
	 * the image.
	 */
	public void startingAsSecondary(boolean discard) throws IOException {
		synchronized (this.monitor) {
			if (this.record.discard() != discard) {
				writeRecord(this.record.withFlags(this.record.consistent(), discard, false));
			}
		}
	}

	/** This node starts as primary: an earlier {@code discardLocalChanges} lapses. */
	public void startingAsPrimary() throws IOException {
		synchronized (this.monitor) {
			if (this.record.discard()) {
				writeRecord(this.record.withFlags(this.record.consistent(), false, false));
			}
		}
	}

	/**
	 * A primary started a synchronisation into this secondary: until it completes the
	 * data is partly old and partly the primary's, and trusted for nothing.
	 */
	public void synchronisationStarted() throws IOException {
		synchronized (this.monitor) {
			this.offered = null;
			if (this.record.consistent()) {
				writeRecord(this.record.withFlags(false, this.record.discard(), false));
			}
		}
	}

	/**
	 * The synchronising primary's generation, which this secondary takes on completion.
	 */
	public void offered(Generation generation) {
		this.offered = generation;
	}

	/**
	 * A synchronisation into this secondary completed: its data is the primary's, and
	 * both nodes agree on the primary's generation.
	 */
	public void synchronisedAsSecondary() throws IOException {
		synchronized (this.monitor) {
			Generation primary = this.offered;
			this.offered = null;
			LineageRecord next = (primary == null) ? this.record.withAgreed(null)
					: (this.record.current().sameAs(primary) ? this.record : this.record.withCurrent(primary))
						.withAgreed(primary);
			if (primary == null) {
				this.note = "its last synchronisation did not say the primary's generation";
			}
			else {
				this.note = "";
			}
			this.dirty.clearAll();
			this.suspect.clearAll();
			save(next.withFlags(true, false, false), activityList(), next.image());
			logger.info("Disk '" + this.disk + "': synchronised as secondary; generation " + next.current());
		}
	}

	/**
	 * A synchronisation from this primary completed: the secondary holds this node's
	 * generation, and nothing but what the synchronisation left dirty differs.
	 */
	public void synchronisedAsPrimary() throws IOException {
		synchronized (this.monitor) {
			this.suspect.clearAll();
			this.note = "";
			LineageRecord next = this.record.withAgreed(this.record.current());
			save(next.withFlags(true, false, false), activityList(), next.image());
		}
	}

	/**
	 * No write is in flight and every write so far is durable on both nodes (a
	 * checkpoint, a planned stop): saves the bitmaps and empties the activity log if it
	 * has grown past its limit, or always with {@code always}.
	 */
	public void drained(boolean always) throws IOException {
		if (!always && this.activity.count() <= ACTIVITY_LIMIT) {
			return;
		}
		synchronized (this.monitor) {
			save(this.record, List.of(), this.record.image());
		}
	}

	/**
	 * A clean shutdown: flushes the image, saves the bitmaps, empties the activity log
	 * and records the image as it is, with the record marked clean. A write after this
	 * marks the record unclean again before it proceeds.
	 * @param image the image, flushed first
	 */
	public void close(BlockDevice image) {
		synchronized (this.monitor) {
			if (this.closed) {
				return;
			}
			try {
				image.flush();
				this.closed = true;
				save(this.record.withFlags(this.record.consistent(), this.record.discard(), true), List.of(),
						this.files.stamp());
			}
			catch (IOException ex) {
				logger.warn("Disk '" + this.disk + "': could not record a clean shutdown, so the next start "
						+ "compares the activity log's extents with the peer: " + ex.getMessage());
			}
		}
	}

	private void reopen() throws IOException {
		synchronized (this.monitor) {
			if (this.closed) {
				writeRecord(this.record.withFlags(this.record.consistent(), this.record.discard(), false));
				this.closed = false;
			}
		}
	}

	private void logActivity(long offset, long length) throws IOException {
		synchronized (this.monitor) {
			if (this.activity.covers(offset, length)) {
				return;
			}
			List<Long> logged = this.activity.with(offset, length);
			writeRecord(this.record.withActivity(logged));
			this.activity.set(logged);
		}
	}

	private List<Long> activityList() {
		return this.activity.logged();
	}

	/** Saves both bitmaps, then the record with the given activity log and image. */
	private void save(LineageRecord next, List<Long> logged, LineageRecord.@Nullable ImageStamp image)
			throws IOException {
		byte[] dirtyBytes = this.dirty.toBytes();
		byte[] suspectBytes = this.suspect.toBytes();
		byte[] bytes = new byte[dirtyBytes.length + suspectBytes.length];
		System.arraycopy(dirtyBytes, 0, bytes, 0, dirtyBytes.length);
		System.arraycopy(suspectBytes, 0, bytes, dirtyBytes.length, suspectBytes.length);
		String hash = LineageRecord.sha256(bytes);
		// The file on disk already holds these bitmaps if the record names their hash:
		// two syncs saved, on every save that changes no bit.
		if (!hash.equals(this.record.bitmap())) {
			this.files.writeBitmap(bytes);
		}
		writeRecord(next.withActivity(logged).withImage(image, hash));
		this.activity.set(logged);
	}

	private void writeRecord(LineageRecord next) throws IOException {
		this.files.writeRecord(next);
		this.record = next;
	}

}
