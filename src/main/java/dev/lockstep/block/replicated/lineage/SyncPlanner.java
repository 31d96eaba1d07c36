package dev.lockstep.block.replicated.lineage;

import org.jspecify.annotations.Nullable;

/**
 * Decides, from the primary's and the secondary's lineage of a disk, what a
 * synchronisation copies, after DRBD's comparison of generation identifiers:
 * <table>
 * <caption>The decision</caption>
 * <tr>
 * <th>Lineages</th>
 * <th>Plan</th>
 * </tr>
 * <tr>
 * <td>either cannot be trusted, or the secondary's last synchronisation did not
 * complete</td>
 * <td>{@link SyncPlan.Method#FULL}</td>
 * </tr>
 * <tr>
 * <td>the secondary was started with {@code discardLocalChanges}, both last agreed on the
 * same generation</td>
 * <td>both bitmaps</td>
 * </tr>
 * <tr>
 * <td>same generation</td>
 * <td>both bitmaps (normally empty: {@link SyncPlan.Method#NONE})</td>
 * </tr>
 * <tr>
 * <td>the secondary holds the generation the nodes agreed on: only the primary
 * changed</td>
 * <td>both bitmaps</td>
 * </tr>
 * <tr>
 * <td>the primary holds the generation the secondary agreed on, or an older one: only the
 * secondary changed</td>
 * <td>refused</td>
 * </tr>
 * <tr>
 * <td>both changed since the generation they agreed on</td>
 * <td>refused: split brain</td>
 * </tr>
 * <tr>
 * <td>the secondary holds an older generation of the primary's</td>
 * <td>FULL</td>
 * </tr>
 * <tr>
 * <td>anything else: unrelated lineages</td>
 * <td>refused</td>
 * </tr>
 * </table>
 * "Both bitmaps" copies every chunk either node marked dirty and compares every chunk
 * either node holds in doubt after a crash; no other chunk is read.
 */
public final class SyncPlanner {

	/** Past this share of the disk in doubt, a full comparison is as cheap. */
	private static final int FULL_FRACTION = 4;

	private SyncPlanner() {
	}

	/**
	 * Plans the synchronisation of a disk.
	 * @param disk the disk's name
	 * @param peer the secondary, for messages
	 * @param primary this node's lineage
	 * @param secondary the secondary's lineage
	 * @return the plan
	 * @throws LineageConflictException if synchronising would discard changes that only
	 * the operator may discard
	 */
	public static SyncPlan plan(String disk, String peer, LineageView primary, LineageView secondary)
			throws LineageConflictException {
		LineageRecord p = primary.record();
		LineageRecord s = secondary.record();
		if (!s.consistent()) {
			return full(primary, "the secondary's last synchronisation did not complete, so its data is "
					+ "partly old and partly new");
		}
		if (!p.consistent()) {
			return full(primary, "this node's last synchronisation as secondary did not complete");
		}
		Generation pa = p.agreed();
		Generation sa = s.agreed();
		if (pa == null) {
			return full(primary, "this node's lineage cannot be trusted: " + primary.note());
		}
		if (sa == null) {
			return full(primary, "the secondary's lineage cannot be trusted: " + secondary.note());
		}
		if (s.discard()) {
			if (pa.sameAs(sa)) {
				return union(primary, secondary, "the secondary was started with discardLocalChanges: the chunks "
						+ "either node changed since generation " + pa.id() + " are copied from this node");
			}
			return full(primary, "the secondary was started with discardLocalChanges, and the nodes "
					+ "were last in sync at different generations (" + pa.id() + " here, " + sa.id() + " there)");
		}
		if (s.current().sameAs(p.current())) {
			return union(primary, secondary, "both nodes hold generation " + p.current().id());
		}
		if (s.current().sameAs(pa)) {
			return union(primary, secondary, "the secondary still holds generation " + pa.id()
					+ ", which both nodes agreed on; the chunks this node changed since are copied");
		}
		if (p.current().sameAs(sa) || s.descendsFrom(p.current())) {
			throw new LineageConflictException(refusal(disk) + "the secondary " + peer + " holds newer data. It "
					+ "changed the disk after the nodes were last in sync" + at(sa) + ": its generation "
					+ s.current().id() + " began " + diverged(s) + ", and this node's generation " + p.current().id()
					+ " is older. Synchronising now would overwrite the secondary's changes. No data was changed on "
					+ "either node. Start that node as primary and this one as secondary; or, to discard the "
					+ "secondary's changes, start it again with {\"mode\":\"secondary\",\"discardLocalChanges\":true}"
					+ " (docs/replication.md, \"Resolving a split brain\")");
		}
		if (pa.sameAs(sa)) {
			throw new LineageConflictException(refusal(disk) + "split brain. Both nodes changed the disk after they "
					+ "were last in sync at generation " + pa.id() + " (" + pa.since() + "). This node holds "
					+ "generation " + p.current().id() + ", diverged " + diverged(p) + "; the secondary " + peer
					+ " holds generation " + s.current().id() + ", diverged " + diverged(s) + ". Synchronising now "
					+ "would overwrite the secondary's changes. No data was changed on either node. Choose the node "
					+ "whose changes are discarded, start it with {\"mode\":\"secondary\",\"discardLocalChanges\":true}"
					+ ", then start the other as primary (docs/replication.md, \"Resolving a split brain\")");
		}
		if (p.descendsFrom(s.current())) {
			return full(primary, "the secondary holds generation " + s.current().id()
					+ ", older than this node's bitmap reaches back");
		}
		throw new LineageConflictException(refusal(disk) + "the nodes' lineages are unrelated: this node holds "
				+ "generation " + p.current().id() + ", last in sync at " + pa.id() + "; the secondary " + peer
				+ " holds generation " + s.current().id() + ", last in sync at " + sa.id()
				+ ". Neither can be known to hold the newer data. No data was changed on either node. If the "
				+ "secondary's data may be discarded, start it with {\"mode\":\"secondary\",\"discardLocalChanges\":"
				+ "true}; this node then makes it equal to its own by comparing every chunk");
	}

	private static String refusal(String disk) {
		return "Refusing to start disk '" + disk + "' as primary: ";
	}

	private static String at(@Nullable Generation agreed) {
		return (agreed != null) ? " at generation " + agreed.id() + " (" + agreed.since() + ")" : "";
	}

	private static String diverged(LineageRecord record) {
		Generation first = record.divergedAt();
		return (first != null) ? "at " + first.since() : "at an unknown time";
	}

	private static SyncPlan union(LineageView primary, LineageView secondary, String reason) {
		long chunks = primary.dirty().chunks();
		DirtyChunks copy = new DirtyChunks(primary.record().size());
		copy.add(primary.dirty());
		copy.add(secondary.dirty());
		DirtyChunks compare = new DirtyChunks(primary.record().size());
		compare.add(primary.suspect());
		compare.add(secondary.suspect());
		if (copy.count() == 0 && compare.count() == 0) {
			return new SyncPlan(SyncPlan.Method.NONE, copy, compare, reason + "; no chunk differs");
		}
		if (compare.count() * FULL_FRACTION > chunks) {
			compare.markAll();
			return new SyncPlan(SyncPlan.Method.FULL, copy, compare,
					reason + "; so many chunks are in doubt after a crash that every chunk is compared");
		}
		return new SyncPlan(SyncPlan.Method.BITMAP, copy, compare, reason);
	}

	private static SyncPlan full(LineageView primary, String reason) {
		DirtyChunks copy = new DirtyChunks(primary.record().size());
		copy.add(primary.dirty());
		DirtyChunks compare = new DirtyChunks(primary.record().size());
		compare.markAll();
		return new SyncPlan(SyncPlan.Method.FULL, copy, compare, reason + "; every chunk is compared");
	}

}
