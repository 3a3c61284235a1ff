# MikroBill: build, test, run.  See README.md.
#
#   make run      install what is missing, build, start everything (foreground)
#   make test     install what is missing, build, run prove -r t/ on private
#                 PostgreSQL and Redis; SAN=1 builds with ASan+UBSan
#   make bench    benchmarks (figures printed)
#   make stop     stop what `make run` started

SHELL      := /bin/bash
TOP        := $(CURDIR)
SAN        ?= 0
PORT       ?= 8080

ifeq ($(SAN),1)
BUILD      := $(TOP)/build/san
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
else
BUILD      := $(TOP)/build/release
SAN_FLAGS  :=
endif

NGX_SRC    := /usr/share/nginx/src
NGX_BUILD  := $(BUILD)/nginx
MODULE_SO  := $(BUILD)/ngx_mikrobill_module.so
WORKER     := $(BUILD)/mikrobill-worker
SIM        := $(BUILD)/mikrobill-ros-sim
FUZZER     := $(BUILD)/fuzz/ros_reply_fuzzer
ROS_CHECK  := $(BUILD)/ros-client-check
ROS_FETCH  := $(BUILD)/bench/ros-fetch-bench

CC         ?= cc
CFLAGS_W   := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g \
              -I$(TOP)/ngx_mikrobill -I/usr/include/postgresql $(SAN_FLAGS)
LDLIBS_W   := -luv -lhiredis -lpq -lssl -lcrypto -ljansson $(SAN_FLAGS)

MODULE_SRCS := $(wildcard $(TOP)/ngx_mikrobill/*.c $(TOP)/ngx_mikrobill/*.h)
WORKER_SRCS := $(filter-out $(TOP)/worker/test_%.c, \
                 $(wildcard $(TOP)/worker/*.c)) \
               $(TOP)/ngx_mikrobill/ngx_mikrobill_password.c \
               $(TOP)/ngx_mikrobill/ngx_mikrobill_secret.c
WORKER_HDRS := $(wildcard $(TOP)/worker/*.h) \
               $(TOP)/ngx_mikrobill/ngx_mikrobill_password.h \
               $(TOP)/ngx_mikrobill/ngx_mikrobill_secret.h

# the RouterOS simulator: its own sources plus the worker's codec and log
SIM_SRCS   := $(wildcard $(TOP)/worker/sim/*.c) \
              $(TOP)/worker/mb_ros_codec.c $(TOP)/worker/mb_log.c
SIM_HDRS   := $(wildcard $(TOP)/worker/sim/*.h) $(WORKER_HDRS)

UNIT_SRCS  := $(wildcard $(TOP)/t/unit/*_test.c)
UNIT_BINS  := $(patsubst $(TOP)/t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

export SAN BUILD MODULE_SO WORKER SIM PORT TOP

.PHONY: all build deps module worker sim unit fuzz test run stop bench clean \
        decode-bench

all: build

build: module worker sim unit $(FUZZER) $(ROS_CHECK) $(ROS_FETCH)

deps:
	@$(TOP)/scripts/install-deps

module: $(MODULE_SO)
worker: $(WORKER)
sim: $(SIM)
unit: $(UNIT_BINS)

# nginx-dev ships the configured source of the installed nginx; configure a
# private copy once with the same flags and our addon, then rebuild only the
# module objects when sources change.
$(NGX_BUILD)/objs/Makefile: $(TOP)/config
	rm -rf $(NGX_BUILD) && mkdir -p $(BUILD)
	cp -a $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && . ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt="-Wall -Wextra -Werror -Wno-unused-parameter -g -O2 \
	    $(SAN_FLAGS)" --with-ld-opt="$(SAN_FLAGS)" \
	    --add-dynamic-module=$(TOP) >$(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE_SO): $(NGX_BUILD)/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	@# a new file, then rename: a running nginx keeps its mapped copy
	cp $(NGX_BUILD)/objs/ngx_mikrobill_module.so $@.tmp && mv -f $@.tmp $@

$(WORKER): $(WORKER_SRCS) $(WORKER_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_W) -o $@ $(WORKER_SRCS) $(LDLIBS_W)

$(SIM): $(SIM_SRCS) $(SIM_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_W) -I$(TOP)/worker -o $@ $(SIM_SRCS) $(LDLIBS_W)

# libFuzzer target for the RouterOS reply parser (clang); t/fuzz.t runs it
# for a few seconds on the seed corpus in t/fuzz/corpus.
$(FUZZER): $(TOP)/t/fuzz/ros_reply_fuzzer.c $(TOP)/worker/mb_ros_codec.c \
           $(TOP)/worker/mb_ros_codec.h
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I$(TOP)/worker \
	    -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(TOP)/worker/mb_ros_codec.c

# new inputs go to a scratch copy of the corpus, never into the repository
fuzz: $(FUZZER)
	@work=$$(mktemp -d) && cp -a $(TOP)/t/fuzz/corpus/. $$work/ && \
	$(FUZZER) -max_total_time=$${FUZZ_SECONDS:-60} $$work; \
	rc=$$?; rm -rf $$work; exit $$rc

# sentences decoded per second by the RouterOS codec (scripts/bench runs it)
DECODE_BENCH := $(BUILD)/bench/ros_decode_bench

$(DECODE_BENCH): $(TOP)/t/bench/ros_decode_bench.c $(TOP)/worker/mb_ros_codec.c \
                 $(TOP)/worker/mb_ros_codec.h
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_W) -I$(TOP)/worker -o $@ $< $(TOP)/worker/mb_ros_codec.c

decode-bench: $(DECODE_BENCH)

# WebSocket load client and Redis publisher (scripts/bench-ws runs it)
WS_LOAD := $(BUILD)/bench/ws-load

$(WS_LOAD): $(TOP)/t/bench/ws_load.c
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_W) -o $@ $< -lhiredis -lcrypto $(SAN_FLAGS)

.PHONY: ws-load
ws-load: $(WS_LOAD)

# C unit tests print TAP; t/unit.t runs each one inside the prove run.
$(BUILD)/unit/%: $(TOP)/t/unit/%.c $(TOP)/t/unit/tap.h $(WORKER_SRCS) \
                 $(WORKER_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS_W) -I$(TOP)/worker -o $@ $< \
	    $(filter-out $(TOP)/worker/main.c,$(WORKER_SRCS)) $(LDLIBS_W)

# the client against a live simulator at every word-length boundary;
# t/ros_client.t runs it
$(ROS_CHECK): $(TOP)/worker/test_ros_client.c $(WORKER_SRCS) $(WORKER_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_W) -I$(TOP)/worker -o $@ $< \
	    $(filter-out $(TOP)/worker/main.c,$(WORKER_SRCS)) $(LDLIBS_W)

# the client fetching a big print from the simulator (scripts/bench-ros)
$(ROS_FETCH): $(TOP)/worker/test_ros_fetch.c $(WORKER_SRCS) $(WORKER_HDRS)
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_W) -I$(TOP)/worker -o $@ $< \
	    $(filter-out $(TOP)/worker/main.c,$(WORKER_SRCS)) $(LDLIBS_W)

test: deps build
	@$(TOP)/scripts/test-run

run: deps build
	@$(TOP)/scripts/run

stop:
	@$(TOP)/scripts/stop

bench: deps build decode-bench ws-load
	@$(TOP)/scripts/bench

clean:
	rm -rf $(TOP)/build
