package dev.lockstep.health;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Configuration of the health indicators, under {@code lockstep.health}.
 *
 * @param livenessIncludesParticipantErrors whether a participant's reported error also
 * makes liveness DOWN, so that Kubernetes restarts the agent; off by default because a
 * restart does not mend a replication fault and would kill a primary's workload
 */
@ConfigurationProperties("lockstep.health")
public record HealthProperties(@DefaultValue("false") boolean livenessIncludesParticipantErrors) {
}
