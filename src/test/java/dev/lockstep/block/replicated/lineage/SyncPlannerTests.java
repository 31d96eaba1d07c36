package dev.lockstep.block.replicated.lineage;

import java.time.Instant;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class SyncPlannerTests {

	private static final long MIB = 1024 * 1024;

	/** 64 chunks. */
	private static final long SIZE = 64 * MIB;

	private static final String PEER = "nbd://10.0.0.2:10809";

	private static final Generation AGREED = generation("00000000000000aa", "2026-03-01T10:00:00Z");

	private static final Generation OLDER = generation("0000000000000011", "2026-02-01T10:00:00Z");

	private static final Generation PRIMARY_1 = generation("00000000000000b1", "2026-03-02T11:00:00Z");

	private static final Generation PRIMARY_2 = generation("00000000000000b2", "2026-03-03T12:00:00Z");

	private static final Generation SECONDARY_1 = generation("00000000000000c1", "2026-03-04T13:00:00Z");

	@Test
	void sameGenerationWithEmptyBitmapsCopiesAndComparesNothing() throws Exception {
		SyncPlan plan = plan(view(AGREED, AGREED, List.of()), view(AGREED, AGREED, List.of()));
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.NONE);
		assertThat(plan.copy().count()).isZero();
		assertThat(plan.compare().count()).isZero();
		assertThat(plan.reason()).contains("both nodes hold generation " + AGREED.id(), "no chunk differs");
	}

	@Test
	void primaryThatWroteAloneCopiesExactlyItsDirtyChunks() throws Exception {
		LineageView primary = view(PRIMARY_1, AGREED, List.of(AGREED), dirty(3, 5, 63), chunks());
		SyncPlan plan = plan(primary, view(AGREED, AGREED, List.of(OLDER)));
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(3L, 5L, 63L);
		assertThat(plan.compare().count()).isZero();
		assertThat(visited(plan)).containsExactly(3L, 5L, 63L);
		assertThat(plan.needsHash(3)).isFalse();
		assertThat(plan.reason()).contains("still holds generation " + AGREED.id());
	}

	@Test
	void primaryThatDrewSeveralGenerationsAloneStillCopiesItsBitmap() throws Exception {
		LineageView primary = view(PRIMARY_2, AGREED, List.of(PRIMARY_1, AGREED), dirty(9), chunks());
		SyncPlan plan = plan(primary, view(AGREED, AGREED, List.of()));
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(9L);
	}

	@Test
	void suspectChunksOfEitherSideAreComparedNotCopied() throws Exception {
		LineageView primary = view(PRIMARY_1, AGREED, List.of(AGREED), dirty(3), chunks(7, 3));
		LineageView secondary = view(AGREED, AGREED, List.of(), chunks(), chunks(9));
		SyncPlan plan = plan(primary, secondary);
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(3L);
		assertThat(LineageViewTests.marked(plan.compare())).containsExactly(3L, 7L, 9L);
		assertThat(plan.needsHash(7)).isTrue();
		assertThat(plan.needsHash(9)).isTrue();
		assertThat(plan.needsHash(3)).as("copied outright").isFalse();
		assertThat(visited(plan)).containsExactly(3L, 7L, 9L);
	}

	@Test
	void sameGenerationWithSuspectChunksComparesThem() throws Exception {
		SyncPlan plan = plan(view(AGREED, AGREED, List.of(), chunks(), chunks(1, 2)), view(AGREED, AGREED, List.of()));
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(plan.copy().count()).isZero();
		assertThat(LineageViewTests.marked(plan.compare())).containsExactly(1L, 2L);
	}

	@Test
	void returningOldPrimaryIsMadeEqualToTheFailedOverSecondary() throws Exception {
		// The new primary failed over (a new generation) and wrote; the old primary
		// crashed with writes in flight and returns as secondary.
		LineageView newPrimary = view(SECONDARY_1, AGREED, List.of(AGREED), dirty(4, 5), chunks());
		LineageView returning = view(AGREED, AGREED, List.of(), chunks(), chunks(40, 41));
		SyncPlan plan = plan(newPrimary, returning);
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(4L, 5L);
		assertThat(LineageViewTests.marked(plan.compare())).containsExactly(40L, 41L);
	}

	@Test
	void discardOnTheSecondaryWithTheSameAgreedCopiesTheUnionOfBothBitmaps() throws Exception {
		LineageView primary = view(PRIMARY_1, AGREED, List.of(AGREED), dirty(1, 2), chunks());
		LineageView secondary = view(record(SECONDARY_1, AGREED, List.of(AGREED), true, true), dirty(2, 10),
				chunks(20));
		SyncPlan plan = plan(primary, secondary);
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(1L, 2L, 10L);
		assertThat(LineageViewTests.marked(plan.compare())).containsExactly(20L);
		assertThat(plan.reason()).contains("discardLocalChanges", AGREED.id());
		assertThat(LineageViewTests.marked(primary.dirty())).as("the views are not changed").containsExactly(1L, 2L);
		assertThat(LineageViewTests.marked(secondary.dirty())).containsExactly(2L, 10L);
	}

	@Test
	void discardOnTheSecondaryWithAnotherAgreedComparesEverything() throws Exception {
		LineageView primary = view(PRIMARY_1, AGREED, List.of(AGREED), dirty(1), chunks());
		LineageView secondary = view(record(SECONDARY_1, OLDER, List.of(OLDER), true, true), dirty(2), chunks());
		SyncPlan plan = plan(primary, secondary);
		assertFull(plan);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(1L);
		assertThat(plan.reason()).contains("discardLocalChanges", AGREED.id(), OLDER.id());
	}

	@Test
	void splitBrainIsRefusedNamingDiskGenerationsTimesAndTheWayOut() {
		LineageView primary = view(PRIMARY_2, AGREED, List.of(PRIMARY_1, AGREED), dirty(1), chunks());
		LineageView secondary = view(SECONDARY_1, AGREED, List.of(AGREED), dirty(2), chunks());
		assertThatExceptionOfType(LineageConflictException.class).isThrownBy(() -> plan(primary, secondary))
			.withMessageStartingWith("Refusing to start disk 'disk0' as primary: split brain.")
			.withMessageContaining("last in sync at generation " + AGREED.id() + " (" + AGREED.since() + ")")
			.withMessageContaining(
					"This node holds generation " + PRIMARY_2.id() + ", diverged at " + PRIMARY_1.since())
			.withMessageContaining("the secondary " + PEER + " holds generation " + SECONDARY_1.id() + ", diverged at "
					+ SECONDARY_1.since())
			.withMessageContaining("No data was changed on either node")
			.withMessageContaining("{\"mode\":\"secondary\",\"discardLocalChanges\":true}");
	}

	@Test
	void secondaryWithNewerDataIsRefused() {
		LineageView primary = view(AGREED, AGREED, List.of(), dirty(), chunks());
		LineageView secondary = view(SECONDARY_1, AGREED, List.of(AGREED), dirty(2), chunks());
		assertThatExceptionOfType(LineageConflictException.class).isThrownBy(() -> plan(primary, secondary))
			.withMessageStartingWith(
					"Refusing to start disk 'disk0' as primary: the secondary " + PEER + " holds newer data.")
			.withMessageContaining("at generation " + AGREED.id())
			.withMessageContaining("its generation " + SECONDARY_1.id() + " began at " + SECONDARY_1.since())
			.withMessageContaining("this node's generation " + AGREED.id() + " is older")
			.withMessageContaining("discardLocalChanges");
	}

	@Test
	void secondaryThatDescendsFromThePrimaryIsRefusedAsNewer() {
		// The secondary took the primary's generation and went on; the primary never
		// recorded the agreement.
		LineageView primary = view(PRIMARY_1, OLDER, List.of(OLDER), dirty(), chunks());
		LineageView secondary = view(SECONDARY_1, AGREED, List.of(PRIMARY_1, OLDER), dirty(2), chunks());
		assertThatExceptionOfType(LineageConflictException.class).isThrownBy(() -> plan(primary, secondary))
			.withMessageContaining("holds newer data");
	}

	@Test
	void unrelatedLineagesAreRefused() {
		LineageView primary = view(PRIMARY_1, PRIMARY_1, List.of(), dirty(), chunks());
		LineageView secondary = view(SECONDARY_1, SECONDARY_1, List.of(), dirty(), chunks());
		assertThatExceptionOfType(LineageConflictException.class).isThrownBy(() -> plan(primary, secondary))
			.withMessageStartingWith("Refusing to start disk 'disk0' as primary: the nodes' lineages are unrelated")
			.withMessageContaining(PRIMARY_1.id())
			.withMessageContaining(SECONDARY_1.id())
			.withMessageContaining(PEER)
			.withMessageContaining("discardLocalChanges");
	}

	@Test
	void secondaryAtAnOlderGenerationThanTheBitmapReachesIsComparedFully() throws Exception {
		LineageView primary = view(PRIMARY_2, PRIMARY_1, List.of(PRIMARY_1, OLDER), dirty(6), chunks());
		LineageView secondary = view(OLDER, OLDER, List.of(), dirty(), chunks());
		SyncPlan plan = plan(primary, secondary);
		assertFull(plan);
		assertThat(plan.reason()).contains(OLDER.id());
	}

	@Test
	void untrustedPrimaryIsComparedFully() throws Exception {
		SyncPlan plan = plan(view(record(PRIMARY_1, null, List.of(), true, false), dirty(3), chunks(), "no file"),
				view(AGREED, AGREED, List.of()));
		assertFull(plan);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(3L);
		assertThat(plan.reason()).contains("this node's lineage cannot be trusted: no file");
	}

	@Test
	void untrustedSecondaryIsComparedFully() throws Exception {
		SyncPlan plan = plan(view(AGREED, AGREED, List.of()),
				view(record(AGREED, null, List.of(), true, false), dirty(), chunks(), "its image changed"));
		assertFull(plan);
		assertThat(plan.copy().count()).isZero();
		assertThat(plan.reason()).contains("the secondary's lineage cannot be trusted: its image changed");
	}

	@Test
	void inconsistentSecondaryIsComparedFullyEvenWithTheSameGeneration() throws Exception {
		SyncPlan plan = plan(view(AGREED, AGREED, List.of()),
				view(record(AGREED, AGREED, List.of(), false, false), dirty(), chunks(), ""));
		assertFull(plan);
		assertThat(plan.reason()).contains("did not complete");
	}

	@Test
	void inconsistentPrimaryIsComparedFully() throws Exception {
		SyncPlan plan = plan(view(record(AGREED, AGREED, List.of(), false, false), dirty(), chunks(), ""),
				view(AGREED, AGREED, List.of()));
		assertFull(plan);
		assertThat(plan.reason()).contains("this node's last synchronisation as secondary did not complete");
	}

	@Test
	void splitBrainWithAnInconsistentSecondaryIsComparedFully() throws Exception {
		LineageView primary = view(PRIMARY_1, AGREED, List.of(AGREED), dirty(1), chunks());
		LineageView secondary = view(record(SECONDARY_1, AGREED, List.of(AGREED), false, false), dirty(2), chunks(),
				"");
		assertFull(plan(primary, secondary));
	}

	@Test
	void aQuarterOfTheDiskInDoubtIsStillABitmapPlan() throws Exception {
		SyncPlan plan = plan(view(AGREED, AGREED, List.of(), chunks(), range(0, 16)), view(AGREED, AGREED, List.of()));
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.BITMAP);
		assertThat(plan.compare().count()).isEqualTo(16);
	}

	@Test
	void manySuspectChunksMakeAFullComparison() throws Exception {
		SyncPlan plan = plan(view(PRIMARY_1, AGREED, List.of(AGREED), dirty(60), range(0, 10)),
				view(AGREED, AGREED, List.of(), chunks(), range(10, 17)));
		assertFull(plan);
		assertThat(LineageViewTests.marked(plan.copy())).containsExactly(60L);
		assertThat(plan.reason()).contains("every chunk is compared");
	}

	private static void assertFull(SyncPlan plan) {
		assertThat(plan.method()).isEqualTo(SyncPlan.Method.FULL);
		assertThat(plan.compare().count()).isEqualTo(64);
		assertThat(visited(plan)).hasSize(64);
	}

	private static List<Long> visited(SyncPlan plan) {
		return java.util.stream.LongStream.range(0, 64).filter(plan::visits).boxed().toList();
	}

	private static SyncPlan plan(LineageView primary, LineageView secondary) throws LineageConflictException {
		return SyncPlanner.plan("disk0", PEER, primary, secondary);
	}

	private static LineageView view(Generation current, Generation agreed, List<Generation> history) {
		return view(current, agreed, history, chunks(), chunks());
	}

	private static LineageView view(Generation current, Generation agreed, List<Generation> history, DirtyChunks dirty,
			DirtyChunks suspect) {
		return view(record(current, agreed, history, true, false), dirty, suspect, "");
	}

	private static LineageView view(LineageRecord record, DirtyChunks dirty, DirtyChunks suspect) {
		return view(record, dirty, suspect, "");
	}

	private static LineageView view(LineageRecord record, DirtyChunks dirty, DirtyChunks suspect, String note) {
		return new LineageView(record, dirty, suspect, note);
	}

	private static LineageRecord record(Generation current, @Nullable Generation agreed, List<Generation> history,
			boolean consistent, boolean discard) {
		return new LineageRecord("disk0", SIZE, current, agreed, history, consistent, discard, false, List.of(), null,
				"");
	}

	private static DirtyChunks dirty(long... marked) {
		return chunks(marked);
	}

	private static DirtyChunks chunks(long... marked) {
		DirtyChunks chunks = new DirtyChunks(SIZE);
		for (long chunk : marked) {
			chunks.markChunk(chunk);
		}
		return chunks;
	}

	private static DirtyChunks range(int from, int to) {
		DirtyChunks chunks = new DirtyChunks(SIZE);
		for (int chunk = from; chunk < to; chunk++) {
			chunks.markChunk(chunk);
		}
		return chunks;
	}

	private static Generation generation(String id, String since) {
		return new Generation(id, Instant.parse(since));
	}

}
