package dev.lockstep.block.replicated.lineage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

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
		LineageLoader.Loaded loaded = LineageLoader.load(disk, files, size);
		LineageRecord start = loaded.record();
		DiskLineage lineage = new DiskLineage(disk, size, files, loaded.dirty(), loaded.suspect(), start,
				loaded.note());
		synchronized (lineage.monitor) {
			try {
				LineageRecord.ImageStamp now = LineageLoader.stamp(files);
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
