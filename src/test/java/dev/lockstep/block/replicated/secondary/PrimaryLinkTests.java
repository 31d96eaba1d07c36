package dev.lockstep.block.replicated.secondary;

import java.time.Instant;

import org.junit.jupiter.api.Test;

import dev.lockstep.block.replicated.secondary.PrimaryLink.State;

import static org.assertj.core.api.Assertions.assertThat;

class PrimaryLinkTests {

	private static final Instant LOST = Instant.parse("2026-01-01T10:00:00Z");

	private static final Instant STARTED = Instant.parse("2026-01-01T10:05:00Z");

	private final PrimaryLink link = new PrimaryLink("disk0");

	@Test
	void aBreakRefusesCheckpointsUntilASynchronisationStartedAfterItCompletes() {
		assertThat(this.link.checkpointRefusal("Kept")).isEmpty();
		this.link.lost(LOST);
		assertThat(this.link.state()).isEqualTo(State.BROKEN);
		assertThat(this.link.checkpointRefusal("Kept")).hasValueSatisfying((reason) -> assertThat(reason)
			.startsWith("Cannot checkpoint disk 'disk0': the primary's connection broke at " + LOST)
			.contains(". Kept; to replicate again"));
		// A completion without a start since the break lifts nothing.
		this.link.synchronised();
		assertThat(this.link.state()).isEqualTo(State.BROKEN);
		this.link.synchronisationStarted(STARTED);
		assertThat(this.link.checkpointRefusal("Kept")).hasValueSatisfying((reason) -> assertThat(reason)
			.startsWith("Cannot checkpoint disk 'disk0': the primary started synchronising the disks at " + STARTED));
		this.link.synchronised();
		assertThat(this.link.state()).isEqualTo(State.INTACT);
		assertThat(this.link.checkpointRefusal("Kept")).isEmpty();
	}

	@Test
	void aBreakDuringASynchronisationOutlivesItsCompletionButNotTheNextOne() {
		this.link.synchronisationStarted(STARTED);
		this.link.lost(LOST);
		assertThat(this.link.state()).isEqualTo(State.BROKEN_WHILE_SYNCHRONISING);
		assertThat(this.link.checkpointRefusal("Kept").orElseThrow()).contains("started synchronising");
		this.link.synchronised();
		assertThat(this.link.state()).isEqualTo(State.BROKEN);
		assertThat(this.link.checkpointRefusal("Kept").orElseThrow()).contains("connection broke at " + LOST);
		this.link.synchronisationStarted(STARTED);
		this.link.synchronised();
		assertThat(this.link.state()).isEqualTo(State.INTACT);
	}

}
