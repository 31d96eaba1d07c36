package dev.lockstep.pair;

import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

import dev.lockstep.replication.ReplicationMode;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The peer, driven through its lifecycle API ({@code /api/v1/replication}). A report in
 * its answer, whether the call succeeded or failed, gives the steps; a refusal gives its
 * problem's detail.
 */
final class PeerMember implements PairMember {

	private final PeerApi api;

	private final JsonMapper jsonMapper;

	PeerMember(PeerApi api, JsonMapper jsonMapper) {
		this.api = api;
		this.jsonMapper = jsonMapper;
	}

	@Override
	public PairNode node() {
		return PairNode.PEER;
	}

	@Override
	public MemberStatus status() {
		PeerApi.Answer answer = this.api.get("/api/v1/replication");
		JsonNode document = read(answer.body());
		PeerStatus status = (answer.ok() && document != null) ? PeerStatus.read(document).orElse(null) : null;
		if (status == null || document == null) {
			throw new PairRefusedException("The peer " + this.api.base() + " answered "
					+ PeerFailoverGuard.statusLine(answer.status()) + " without a replication status; check "
					+ "lockstep.pair.peer-api and lockstep.pair.peer-token", false);
		}
		JsonNode running = document.get("running");
		return new MemberStatus(status.state(), status.mode(), running != null && running.isObject(), document);
	}

	@Override
	public MemberAnswer start(ReplicationMode mode, String caller) {
		return call("/api/v1/replication/start", "{\"mode\":\"" + mode.value() + "\"}");
	}

	@Override
	public MemberAnswer checkpoint(String caller) {
		return call("/api/v1/replication/checkpoint", null);
	}

	@Override
	public MemberAnswer pause(String caller) {
		return call("/api/v1/replication/pause", null);
	}

	@Override
	public MemberAnswer resume(String caller) {
		return call("/api/v1/replication/resume", null);
	}

	@Override
	public MemberAnswer stop(String caller) {
		return call("/api/v1/replication/stop", "{\"failover\":false}");
	}

	private MemberAnswer call(String path, @Nullable String body) {
		PeerApi.Answer answer;
		try {
			answer = this.api.post(path, body);
		}
		catch (PairRefusedException ex) {
			// The peer went away in the middle of a pair operation: a failed step, so
			// that the operation undoes what it did and reports it.
			return MemberAnswer.refused(String.valueOf(ex.getMessage()));
		}
		JsonNode document = read(answer.body());
		JsonNode report = (document == null) ? null : (answer.ok() ? document : document.get("report"));
		List<PairStep> steps = new ArrayList<>();
		String id = null;
		if (report != null && report.isObject()) {
			id = text(report.get("id"));
			JsonNode reported = report.get("steps");
			if (reported != null && reported.isArray()) {
				for (JsonNode step : reported) {
					steps.add(new PairStep(PairNode.PEER, id, String.valueOf(text(step.get("participant"))),
							String.valueOf(text(step.get("action"))), String.valueOf(text(step.get("outcome"))),
							step.path("durationMillis").asLong(0), text(step.get("error"))));
				}
			}
		}
		if (answer.ok()) {
			return new MemberAnswer(true, steps, id, null);
		}
		String detail = (document != null) ? text(document.get("detail")) : null;
		return new MemberAnswer(false, steps, id, "the peer " + this.api.base() + " answered "
				+ PeerFailoverGuard.statusLine(answer.status()) + ((detail != null) ? ": " + detail : ""));
	}

	private @Nullable JsonNode read(byte[] body) {
		if (body.length == 0) {
			return null;
		}
		try {
			return this.jsonMapper.readTree(body);
		}
		catch (JacksonException ex) {
			return null;
		}
	}

	/** The peer's text, as data: logs quote it with {@code LogText}. */
	private static @Nullable String text(@Nullable JsonNode node) {
		return (node != null && node.isString()) ? node.asString() : null;
	}

}
