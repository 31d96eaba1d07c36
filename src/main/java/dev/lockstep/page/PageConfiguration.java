package dev.lockstep.page;

import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Instant;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.util.StringUtils;

/**
 * Registers what the status page needs from the server: its security headers and the node
 * facts in {@code /actuator/info}.
 */
@Configuration(proxyBeanMethods = false)
class PageConfiguration {

	@Bean
	NodeInfoContributor nodeInfoContributor(Environment environment) {
		return new NodeInfoContributor(Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()),
				StringUtils.hasText(environment.getProperty("lockstep.pair.peer-api")), Clock.systemUTC());
	}

	@Bean
	PageHeadersFilter pageHeadersFilter() {
		return new PageHeadersFilter();
	}

}
