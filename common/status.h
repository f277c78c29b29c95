/*
 * status - the gRPC status codes that travel in IPC replies. Defined here
 * so that aggd and admind need not include grpc; the values are gRPC's.
 */
#ifndef FL_STATUS_H
#define FL_STATUS_H

enum fl_status {
	FL_OK			= 0,
	FL_INVALID_ARGUMENT	= 3,
	FL_NOT_FOUND		= 5,
	FL_PERMISSION_DENIED	= 7,
	FL_RESOURCE_EXHAUSTED	= 8,
	FL_FAILED_PRECONDITION	= 9,
	FL_OUT_OF_RANGE		= 11,
	FL_UNIMPLEMENTED	= 12,
	FL_INTERNAL		= 13,
	FL_UNAVAILABLE		= 14,
	FL_UNAUTHENTICATED	= 16
};

#endif
