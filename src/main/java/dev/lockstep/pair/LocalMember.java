package dev.lockstep.pair;

import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

import dev.lockstep.replication.OperationConflictException;
import dev.lockstep.replication.OperationOutcome;
import dev.lockstep.replication.OperationReport;
import dev.lockstep.replication.ReplicationCoordinator;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.StepReport;
import tools.jackson.databind.json.JsonMapper;

/**
 * This node, driven through its own coordinator.
 */
final class LocalMember implements PairMember {

	private final ReplicationCoordinator coordinator;

	private final JsonMapper jsonMapper;

	private final Duration maxPause;

	LocalMember(ReplicationCoordinator coordinator, JsonMapper jsonMapper, Duration maxPause) {
		this.coordinator = coordinator;
		this.jsonMapper = jsonMapper;
		this.maxPause = maxPause;
	}

	@Override
	public PairNode node() {
		return PairNode.SELF;
	}

	@Override
	public MemberStatus status() {
		return new MemberStatus(this.coordinator.state(), this.coordinator.mode().orElse(null),
				this.coordinator.runningOperation().isPresent(),
				this.jsonMapper.valueToTree(this.coordinator.status()));
	}

	@Override
	public MemberAnswer start(ReplicationMode mode, String caller) {
		return call(() -> this.coordinator.start(mode, caller));
	}

	@Override
	public MemberAnswer checkpoint(String caller) {
		return call(() -> this.coordinator.checkpoint(caller));
	}

	@Override
	public MemberAnswer pause(String caller) {
		return call(() -> this.coordinator.pause(this.maxPause, caller));
	}

	@Override
	public MemberAnswer resume(String caller) {
		return call(() -> this.coordinator.resume(caller));
	}

	@Override
	public MemberAnswer stop(String caller) {
		return call(() -> this.coordinator.stop(false, caller));
	}

	private MemberAnswer call(Supplier<OperationReport> operation) {
		OperationReport report;
		try {
			report = operation.get();
		}
		catch (OperationConflictException ex) {
			return MemberAnswer.refused(String.valueOf(ex.getMessage()));
		}
		List<PairStep> steps = report.steps().stream().map((step) -> step(report, step)).toList();
		boolean failed = report.outcome() == OperationOutcome.FAILED;
		return new MemberAnswer(!failed, steps, report.id(),
				failed ? report.firstFailure().map(LocalMember::describe).orElse("the operation failed") : null);
	}

	private static PairStep step(OperationReport report, StepReport step) {
		return new PairStep(PairNode.SELF, report.id(), step.participant(), step.action().value(),
				step.outcome().value(), step.durationMillis(), step.error());
	}

	private static String describe(StepReport step) {
		return "participant '" + step.participant() + "' " + step.outcome().value() + " in " + step.action().value()
				+ ((step.error() != null) ? ": " + step.error() : "");
	}

}
